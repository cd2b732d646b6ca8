import { Readable } from 'node:stream';
import { SourceError } from '../errors.js';
import { discard } from '../sources/discard.js';
import type { ByteRange, ObjectInfo } from '../sources/source.js';
import { outcomeOf, type StreamScope, streamEnd, streamStart } from './events.js';
import { publishPart } from './part-events.js';
import { type PartPlan, partRange } from './parts.js';
import { type OpenRange, type ResumePolicy, Resumer, strongEtag } from './resume.js';
import { type BodyPolicy, SourceBody } from './source-body.js';

export interface ParallelBodyOptions {
  plan: PartPlan;
  /** The object's validators, as the first answer reported them. */
  info: ObjectInfo;
  /** Opens a range of the same object with If-Match (retries and checks included). */
  open: OpenRange;
  resume: ResumePolicy;
  body: BodyPolicy;
  /** The request's controller: aborting it ends every part; an early end aborts it. */
  controller: AbortController;
  /** Names the stream in its start and end events (the parts publish none of their own). */
  scope: StreamScope | undefined;
  /** For the parts event only. */
  source: string | undefined;
  key: string;
}

/**
 * Bytes the parts may hold ahead of the client while the client, not the source, is the slower
 * side: reading further ahead would only hold memory, since one connection keeps up with it. A
 * paused part's socket still holds what the source sent it, so the next part starts at once when
 * its turn comes. Each slow client holds this much, so it is kept small (4 MiB cost a process
 * reading at 16 MiB/s 4-5 MiB more at its peak, by hand).
 */
export const AHEAD_BYTES = 1024 * 1024;

/**
 * One part in flight: its own SourceBody (idle timeout, resume within the part's range) under a
 * controller of its own, which the parallel body aborts when it ends early, and the chunks it
 * read before its turn.
 */
class Part {
  readonly range: ByteRange;
  readonly controller = new AbortController();
  body: SourceBody | undefined;
  /** Chunks read before the client could take them, in order. */
  readonly held: Buffer[] = [];
  ended = false;

  constructor(range: ByteRange) {
    this.range = range;
  }

  get length(): number {
    return this.range.end - this.range.start + 1;
  }

  /** Times its source was reopened after a break (attempts that failed not counted). */
  get resumes(): number {
    return this.body?.resumes ?? 0;
  }

  start(source: Readable, options: ParallelBodyOptions): SourceBody {
    this.body = new SourceBody(source, {
      length: this.length,
      resumer: Resumer.for(options.info, this.range, options.open, options.resume),
      // The whole download's cap is the parallel body's; the idle timeout is each part's.
      policy: { idleMs: options.body.idleMs, totalMs: 0 },
      controller: this.controller,
    });
    return this.body;
  }

  /** Ends the part on every path: its body (and so its source) and any request in flight. */
  end(): void {
    this.held.length = 0;
    this.body?.destroy();
    this.controller.abort();
  }
}

/**
 * Parts open while the client, not the source, is the slower side: the one being sent and the
 * next, so that the next is under way when its turn comes. Opening the rest of the window then
 * only holds connections and memory: their chunks wait a part or more for their turn, long
 * enough to outlive a scavenge. By hand, a process reading 1 GiB at 16 MiB/s peaked at 97 MiB
 * with four parts open and at 87 with two.
 */
const PARTS_OPEN_FOR_A_SLOW_CLIENT = 2;

/**
 * The body sent to the client for a parallel download: the parts of `plan`, fetched over up to
 * `plan.window` connections and sent in order. The first part is read from the answer already
 * open (so the first byte comes as soon as over one connection); each later part opens with
 * If-Match when the part `window` places before it has been sent, once the client has waited
 * for the source (until then, PARTS_OPEN_FOR_A_SLOW_CLIENT are open). The part being sent goes
 * straight to the client; the parts after it hold what they read until their turn: up to their
 * length while the client waits for the part being sent (its source is the slower side, so
 * reading ahead is the speed-up), else no more than AHEAD_BYTES in all. A part
 * that breaks is resumed within its range; one that cannot be, or cannot be opened, errors this
 * body (the client connection is aborted, never ended cleanly). Destroying it ends every part.
 */
export class ParallelBody extends Readable {
  readonly #options: ParallelBodyOptions;
  readonly #etag: string;
  /** Parts opening or open, in order; the first is the one being sent. */
  readonly #window: Part[] = [];
  readonly #total: NodeJS.Timeout | undefined;
  /** One listener on the request's signal for all parts, however many the window holds. */
  readonly #onAbort = () => this.destroy();
  #next = 0;
  /** The client refused the last chunk and has not asked for more since. */
  #waiting = false;
  /**
   * The client has been sent nothing for two whole turns of the event loop while it waited for
   * the part being sent: its source is the slower side, so the parts after it read ahead freely
   * until the client refuses a chunk (then the client is the slower side again). A wait that the
   * next turns end (a busy process, a source that only had to be resumed) does not count.
   */
  #starved = false;
  #starving: NodeJS.Immediate | undefined;
  /** Bytes the parts hold for the client. */
  #held = 0;
  /** Some part after the one being sent was paused because the parts held enough. */
  #aheadPaused = false;
  #complete = false;
  #pushed = 0;
  #resumes = 0;

  constructor(first: Readable, options: ParallelBodyOptions) {
    super({ highWaterMark: 64 * 1024 });
    this.#options = options;
    // planParts only plans objects with a strong ETag.
    this.#etag = strongEtag(options.info) ?? '';
    if (options.scope !== undefined && streamStart.hasSubscribers) {
      streamStart.publish({ scope: options.scope, length: spanLength(options.plan) });
    }
    const { totalMs } = options.body;
    if (totalMs > 0) {
      this.#total = setTimeout(
        () => this.destroy(new SourceError('timeout', 'download exceeded its time limit')),
        totalMs,
      );
    }
    options.controller.signal.addEventListener('abort', this.#onAbort, { once: true });
    const part = this.#add();
    // The open answer covers the whole span: the part's body takes its first bytes only.
    this.#started(part, part.start(first, options));
    this.#fill();
  }

  override _read(): void {
    this.#waiting = false;
    this.#flush();
    if (this.#starving === undefined && !this.#starved && this.#sendingIsEmpty()) {
      this.#watchForStarving();
    }
  }

  /**
   * Two turns, not one: a source resumed in this turn reads what its socket already holds in the
   * next turn's poll phase, after this turn's immediates have run. A client that has then still
   * been sent nothing waits on the source itself; one that was sent bytes meanwhile and wants
   * more is watched again. With one turn, a client that merely drained its socket (one reading
   * at its own pace after each pause) counted as starved each time, and the parts after the
   * sending one read ahead up to their whole length.
   */
  #watchForStarving(): void {
    const pushed = this.#pushed;
    this.#starving = setImmediate(() => {
      this.#starving = setImmediate(() => {
        this.#starving = undefined;
        if (!this.#sendingIsEmpty()) return;
        if (this.#pushed !== pushed) {
          this.#watchForStarving();
          return;
        }
        this.#starved = true;
        if (this.#aheadPaused) this.#resumeAhead();
        this.#fill();
      });
    });
  }

  /** The client asked for bytes and the part being sent has none for it yet. */
  #sendingIsEmpty(): boolean {
    const sending = this.#window[0];
    return (
      !this.#waiting &&
      this.readableLength === 0 &&
      sending !== undefined &&
      sending.held.length === 0 &&
      !sending.body?.readableLength
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#total);
    clearImmediate(this.#starving);
    this.#options.controller.signal.removeEventListener('abort', this.#onAbort);
    for (const part of this.#window.splice(0)) part.end();
    this.#held = 0;
    if (!this.#complete) this.#options.controller.abort();
    this.#reportEnd(error);
    callback(error);
  }

  /** Bytes from the source count those sent on; a part read ahead and then dropped is not. */
  #reportEnd(error: Error | null): void {
    const { scope } = this.#options;
    if (scope === undefined || !streamEnd.hasSubscribers) return;
    const taken = this.#pushed - this.readableLength;
    const complete = error === null && (this.#complete || taken === spanLength(this.#options.plan));
    streamEnd.publish({
      scope,
      outcome: complete ? 'complete' : outcomeOf(error),
      bytesFromSource: this.#pushed,
      bytesToClient: taken,
      resumes: this.#resumes,
    });
  }

  #add(): Part {
    const part = new Part(partRange(this.#options.plan, this.#next++));
    this.#window.push(part);
    return part;
  }

  /** Opens parts until the window is full (for a slow client, its first two) or none is left. */
  #fill(): void {
    const { plan } = this.#options;
    const open = this.#starved ? plan.window : PARTS_OPEN_FOR_A_SLOW_CLIENT;
    while (this.#window.length < open && this.#next < plan.count) this.#open(this.#add());
  }

  #open(part: Part): void {
    this.#options.open(part.range, this.#etag, part.controller.signal).then(
      (source) => {
        // Ended while it was opening (the client left, another part failed): nobody reads it.
        if (this.destroyed || part.controller.signal.aborted) discard(source);
        else this.#started(part, part.start(source, this.#options));
      },
      (error: unknown) => {
        if (this.destroyed) return;
        this.destroy(new SourceError('truncated', 'a part could not be opened', { cause: error }));
      },
    );
  }

  #started(part: Part, body: SourceBody): void {
    body.once('error', (error) => this.destroy(error));
    body.on('data', (chunk: Buffer) => this.#onData(part, chunk));
    body.once('end', () => {
      part.ended = true;
      if (this.#window[0] === part) this.#flush();
    });
    if (this.#window[0] === part && this.#waiting) body.pause();
  }

  #onData(part: Part, chunk: Buffer): void {
    const sending = this.#window[0] === part;
    if (sending && part.held.length === 0 && !this.#waiting) {
      this.#push(chunk, part);
      return;
    }
    part.held.push(chunk);
    this.#held += chunk.length;
    if (sending) part.body?.pause();
    else if (this.#held >= AHEAD_BYTES && !this.#starved) {
      part.body?.pause();
      this.#aheadPaused = true;
    }
  }

  /** Sends a chunk of the part being sent; a refusal pauses that part until the client asks. */
  #push(chunk: Buffer, part: Part): void {
    this.#pushed += chunk.length;
    if (!this.push(chunk)) {
      this.#waiting = true;
      this.#starved = false;
      part.body?.pause();
    }
  }

  /** Sends what the parts hold, in order, until the client refuses or the next bytes are not in. */
  #flush(): void {
    for (;;) {
      const part = this.#window[0];
      if (part === undefined) return;
      while (!this.#waiting) {
        const chunk = part.held.shift();
        if (chunk === undefined) break;
        this.#held -= chunk.length;
        this.#push(chunk, part);
      }
      if (this.#aheadPaused && this.#held < AHEAD_BYTES) this.#resumeAhead();
      if (this.#waiting) return;
      if (!part.ended) {
        part.body?.resume();
        return;
      }
      this.#sent(part);
      if (this.#complete) return;
    }
  }

  #resumeAhead(): void {
    this.#aheadPaused = false;
    for (let i = 1; i < this.#window.length; i++) this.#window[i]?.body?.resume();
  }

  #sent(part: Part): void {
    this.#window.shift();
    part.end();
    this.#resumes += part.resumes;
    publishPart({
      source: this.#options.source,
      key: this.#options.key,
      range: part.range,
      bytes: part.length,
      resumed: part.resumes,
    });
    this.#fill();
    if (this.#window.length === 0) {
      this.#complete = true;
      clearTimeout(this.#total);
      this.push(null);
    }
  }
}

function spanLength({ span }: PartPlan): number {
  return span.end - span.start + 1;
}
