import { getEventListeners } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../errors.js';
import type { ObjectInfo, Source } from '../sources/source.js';
import { openObject } from './open.js';

const info: ObjectInfo = {
  size: 3,
  etag: '"v1"',
  lastModified: undefined,
  contentType: undefined,
  cacheControl: undefined,
  acceptRanges: true,
};

/** A source whose first `failures` reads fail as a retryable 503 would, then answer. */
function flakySource(failures: number): Source & { reads: number } {
  return {
    reads: 0,
    async read() {
      this.reads++;
      if (this.reads <= failures) {
        throw new SourceError('unavailable', 'slow down', { retryable: true });
      }
      return { info, range: undefined, body: Readable.from([Buffer.from('abc')]) };
    },
    stat: async () => info,
    probe: async () => {},
    close: async () => {},
  };
}

describe('openObject', () => {
  it('leaves on the request signal only the listener of the attempt that answered', async () => {
    const request = new AbortController();
    const source = flakySource(2);
    const policy = { attempts: 2, backoffMs: 1, firstByteMs: 1_000 };
    const opened = await openObject(source, 'k', {}, policy, request.signal);
    expect(source.reads).toBe(3);
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(1);
    opened.body.destroy();
  });

  it('ends a retry backoff cut by the request as a source abort, not a bare AbortError', async () => {
    const request = new AbortController();
    const policy = { attempts: 2, backoffMs: 60_000, firstByteMs: 1_000 };
    const opening = openObject(flakySource(5), 'k', {}, policy, request.signal);
    setTimeout(() => request.abort(), 20);
    const error = await opening.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).failure).toBe('aborted');
  });
});
