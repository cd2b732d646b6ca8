import { once } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../errors.js';
import type { ByteRange, ObjectInfo } from '../sources/source.js';
import { Resumer } from './resume.js';
import { SourceBody } from './source-body.js';

const info: ObjectInfo = {
  size: 100,
  etag: '"v1"',
  lastModified: undefined,
  contentType: undefined,
  cacheControl: undefined,
  acceptRanges: true,
};

/** Like an unread undici body: destroying it emits 'error', fatal without a listener. */
function unreadBody(): Readable {
  return new Readable({
    read() {},
    destroy(error, callback) {
      callback(error ?? new Error('aborted by destroy'));
    },
  });
}

/** A body that sends `bytes` and then fails, as a connection reset mid-body does. */
function breaking(bytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) this.destroy(new Error('ECONNRESET'));
      else {
        sent = true;
        this.push(Buffer.alloc(bytes, 1));
      }
    },
  });
}

const policy = { idleMs: 5_000, totalMs: 0 };

describe('SourceBody', () => {
  it('discards a resumed body that arrives after the client left (regression)', async () => {
    let opened: ((body: Readable) => void) | undefined;
    const asked: ByteRange[] = [];
    const resumer = Resumer.for(
      info,
      undefined,
      (range) => {
        asked.push(range);
        return new Promise((resolve) => {
          opened = resolve;
        });
      },
      { attempts: 3, backoffMs: 0 },
    );
    const controller = new AbortController();
    const body = new SourceBody(breaking(40), { length: 100, resumer, policy, controller });
    body.on('data', () => {});
    body.on('error', () => {});
    while (opened === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(asked).toEqual([{ start: 40, end: 99 }]);

    body.destroy();
    expect(controller.signal.aborted).toBe(true);
    const late = unreadBody();
    opened(late);
    await new Promise((resolve) => late.on('close', resolve));
    expect(late.destroyed).toBe(true);
  });

  it('errors as truncated when the source ends early and cannot be resumed', async () => {
    const controller = new AbortController();
    const short = Readable.from([Buffer.alloc(10)]);
    const body = new SourceBody(short, { length: 100, resumer: undefined, policy, controller });
    body.resume();
    const [error] = await once(body, 'error');
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ failure: 'truncated' });
    expect(controller.signal.aborted).toBe(true);
  });

  it('takes the first `length` bytes of a longer source, then discards the source', async () => {
    const controller = new AbortController();
    const longer = Readable.from([Buffer.alloc(60, 1), Buffer.alloc(60, 2), Buffer.alloc(60, 3)]);
    const body = new SourceBody(longer, { length: 100, resumer: undefined, policy, controller });
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(
      Buffer.concat([Buffer.alloc(60, 1), Buffer.alloc(40, 2)]),
    );
    expect(longer.destroyed).toBe(true);
    // It completed: the request behind it is not aborted.
    expect(controller.signal.aborted).toBe(false);
  });

  it.each([
    ['stalls', (source: Readable) => source],
    ['fails', (source: Readable) => setImmediate(() => source.destroy(new Error('ECONNRESET')))],
  ])('ends complete when a longer source %s right after its `length` bytes', async (_, after) => {
    const controller = new AbortController();
    const longer = new Readable({ read() {} });
    longer.push(Buffer.alloc(100, 7));
    after(longer);
    const body = new SourceBody(longer, {
      length: 100,
      resumer: undefined,
      policy: { idleMs: 50, totalMs: 0 },
      controller,
    });
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(Buffer.alloc(100, 7));
    expect(longer.destroyed).toBe(true);
    expect(controller.signal.aborted).toBe(false);
  });
});

describe('Resumer', () => {
  const open = async () => Readable.from([]);

  it('resumes only with a strong ETag, a size and byte ranges', () => {
    const resume = { attempts: 1, backoffMs: 0 };
    expect(Resumer.for(info, undefined, open, resume)).toBeDefined();
    expect(Resumer.for({ ...info, etag: 'W/"v1"' }, undefined, open, resume)).toBeUndefined();
    expect(Resumer.for({ ...info, etag: undefined }, undefined, open, resume)).toBeUndefined();
    expect(Resumer.for({ ...info, size: undefined }, undefined, open, resume)).toBeUndefined();
    expect(Resumer.for({ ...info, acceptRanges: false }, undefined, open, resume)).toBeUndefined();
  });

  it('asks for the rest of the range after the bytes delivered, with If-Match', async () => {
    const asked: [ByteRange, string][] = [];
    const resumer = Resumer.for(
      info,
      { start: 10, end: 59 },
      async (range, etag) => {
        asked.push([range, etag]);
        return Readable.from([]);
      },
      { attempts: 2, backoffMs: 0 },
    );
    await resumer?.resume(15, new AbortController().signal);
    expect(asked).toEqual([[{ start: 25, end: 59 }, '"v1"']]);
    expect(resumer?.canResume(49)).toBe(true);
    expect(resumer?.canResume(50)).toBe(false);
  });

  it('gives up after its attempts, and at once when the object changed', async () => {
    let calls = 0;
    const failing = (failure: 'unavailable' | 'precondition-failed') => async () => {
      calls++;
      throw new SourceError(failure, 'no');
    };
    const signal = new AbortController().signal;
    const resume = { attempts: 3, backoffMs: 0 };
    const flaky = Resumer.for(info, undefined, failing('unavailable'), resume);
    await expect(flaky?.resume(0, signal)).rejects.toMatchObject({ failure: 'truncated' });
    expect(calls).toBe(3);
    calls = 0;
    const changed = Resumer.for(info, undefined, failing('precondition-failed'), resume);
    await expect(changed?.resume(0, signal)).rejects.toMatchObject({ failure: 'truncated' });
    expect(calls).toBe(1);
  });
});
