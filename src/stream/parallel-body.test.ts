import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../errors.js';
import type { ByteRange, ObjectInfo } from '../sources/source.js';
import { AHEAD_BYTES, ParallelBody } from './parallel-body.js';
import { type PartFetchedMessage, partsChannel } from './part-events.js';
import { planParts } from './parts.js';

const MIB = 1024 * 1024;
const BLOCK = 64 * 1024;
const SIZE = 64 * MIB;
const PART = 8 * MIB;

const info: ObjectInfo = {
  size: SIZE,
  etag: '"v1"',
  lastModified: undefined,
  contentType: undefined,
  cacheControl: undefined,
  acceptRanges: true,
};

/** The block of the object at `offset` (a multiple of BLOCK): each block's bytes name it. */
function block(offset: number): Buffer {
  return Buffer.alloc(BLOCK, (offset / BLOCK) % 251);
}

function objectSha256(): string {
  const hash = createHash('sha256');
  for (let offset = 0; offset < SIZE; offset += BLOCK) hash.update(block(offset));
  return hash.digest('hex');
}

/**
 * The object's bytes from `range.start` to the end of the object, made only when read, counted
 * in `made`; `gate` makes it wait after that many bytes until `release()` is called. A
 * `socketLike` source delivers each block a turn of the event loop after it is asked for, as a
 * socket's read arrives in a later poll phase.
 */
class FakeSource extends Readable {
  made = 0;
  #offset: number;
  readonly #end: number;
  #gate: number;
  #waiting = false;
  readonly #socketLike: boolean;

  constructor(range: ByteRange, gate = Number.POSITIVE_INFINITY, socketLike = false) {
    super({ highWaterMark: BLOCK });
    this.#offset = range.start;
    this.#end = range.end + 1;
    this.#gate = gate;
    this.#socketLike = socketLike;
  }

  override _read(): void {
    if (this.#offset >= this.#end) {
      this.push(null);
      return;
    }
    if (this.made >= this.#gate) {
      this.#waiting = true;
      return;
    }
    const chunk = block(this.#offset);
    this.#offset += BLOCK;
    this.made += BLOCK;
    if (this.#socketLike) setImmediate(() => this.push(chunk));
    else this.push(chunk);
  }

  /** Makes the rest of the bytes as they are read. */
  release(): void {
    this.#gate = Number.POSITIVE_INFINITY;
    if (this.#waiting) {
      this.#waiting = false;
      this._read();
    }
  }
}

/**
 * A parallel body over four parts of 8 MiB, and the sources it opened; `open` replaces the
 * opener of FakeSources, `resumeAttempts` the default of none.
 */
function parallelBody(
  first: FakeSource,
  {
    socketLike = false,
    open,
    resumeAttempts = 0,
  }: {
    socketLike?: boolean;
    open?: (range: ByteRange) => Promise<Readable>;
    resumeAttempts?: number;
  } = {},
) {
  const plan = planParts(info, undefined, { parts: 4, partSize: PART, minBytes: 0 });
  if (plan === undefined) throw new Error('no plan');
  const sources: FakeSource[] = [first];
  const body = new ParallelBody(first, {
    plan,
    info,
    open:
      open ??
      (async (range) => {
        const source = new FakeSource(range, Number.POSITIVE_INFINITY, socketLike);
        sources.push(source);
        return source;
      }),
    resume: { attempts: resumeAttempts, backoffMs: 0 },
    body: { idleMs: 5_000, totalMs: 0 },
    controller: new AbortController(),
    scope: undefined,
    source: undefined,
    key: 'key',
  });
  const made = () => sources.reduce((sum, source) => sum + source.made, 0);
  return { body, sources, made };
}

/** The object's bytes over `range`, failing with a reset once `breakAfter` of them were read. */
function breakingSource(range: ByteRange, breakAfter: number): Readable {
  const source = new FakeSource(range);
  source.on('data', () => {
    if (source.made >= breakAfter) source.destroy(new Error('ECONNRESET'));
  });
  return source;
}

/** Waits until the sources make no more bytes. */
async function settled(made: () => number): Promise<void> {
  let last = -1;
  let still = 0;
  while (still < 20) {
    await nextTurn();
    const now = made();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/** Reads `body` to its end and hashes it. */
async function readAll(body: Readable, hash = createHash('sha256')): Promise<string> {
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('ParallelBody', () => {
  it('holds at most AHEAD_BYTES ahead of a client that stops reading, not the window', async () => {
    const { body, sources, made } = parallelBody(new FakeSource({ start: 0, end: SIZE - 1 }));
    const hash = createHash('sha256');
    let read = 0;
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        hash.update(chunk);
        read += chunk.length;
        if (read >= MIB) {
          body.off('data', onData);
          body.pause();
          resolve();
        }
      };
      body.on('data', onData);
    });
    await settled(made);

    // The window is four parts (32 MiB); what each stream buffers on the way is a block or two.
    const ahead = made() - read;
    expect(ahead).toBeGreaterThan(0);
    expect(ahead).toBeLessThanOrEqual(AHEAD_BYTES + 16 * BLOCK);
    // The client is the slower side: the part being sent and the next are open, not four.
    expect(sources).toHaveLength(2);

    expect(await readAll(body, hash)).toBe(objectSha256());
  });

  it('holds at most AHEAD_BYTES ahead of a client that reads at its own pace after each pause', async () => {
    const first = new FakeSource({ start: 0, end: SIZE - 1 }, Number.POSITIVE_INFINITY, true);
    const { body, made } = parallelBody(first, { socketLike: true });
    const hash = createHash('sha256');
    let read = 0;
    let mostAhead = 0;
    await new Promise<void>((resolve, reject) => {
      body.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        read += chunk.length;
        mostAhead = Math.max(mostAhead, made() - read);
        // Bursts of 512 KiB, each after a pause: every burst drains what the body holds.
        if (read % (8 * BLOCK) === 0) {
          body.pause();
          setTimeout(() => body.resume(), 2);
        }
      });
      body.once('end', resolve);
      body.once('error', reject);
    });

    expect(hash.digest('hex')).toBe(objectSha256());
    // A source that answers within a turn is not the slower side, however often the client
    // finds nothing buffered when it comes back.
    expect(mostAhead).toBeLessThanOrEqual(AHEAD_BYTES + 16 * BLOCK);
  });

  it('counts the reopens of a part that broke, not the attempts that failed', async () => {
    let reopens = 0;
    const parts: PartFetchedMessage[] = [];
    const record = (message: unknown) => parts.push(message as PartFetchedMessage);
    partsChannel.subscribe(record);
    const { body } = parallelBody(new FakeSource({ start: 0, end: SIZE - 1 }), {
      resumeAttempts: 3,
      open: async (range) => {
        // The second part breaks once; the first try to reopen it fails, the next one serves.
        if (range.start === PART) return breakingSource(range, MIB);
        if (range.start > PART && range.start < 2 * PART && reopens++ === 0) {
          throw new SourceError('unavailable', 'source answered 503');
        }
        return new FakeSource(range);
      },
    });
    try {
      expect(await readAll(body)).toBe(objectSha256());
    } finally {
      partsChannel.unsubscribe(record);
    }
    const resumed = Object.fromEntries(
      parts.map((part) => [part.range.start / PART, part.resumed]),
    );
    expect(resumed).toEqual({ 0: 0, 1: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0 });
    expect(reopens).toBe(2);
  });

  it('reads the later parts whole while the part being sent is slower than the client', async () => {
    const first = new FakeSource({ start: 0, end: SIZE - 1 }, MIB);
    const { body, sources, made } = parallelBody(first);
    const read = readAll(body);
    await settled(made);

    // The client waits for the first part: the window opened, and the three parts after it
    // were read whole.
    const later = sources.slice(1).map((source) => source.made);
    expect(later).toEqual([PART, PART, PART]);

    first.release();
    expect(await read).toBe(objectSha256());
  });
});
