import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GatewayError, imageErrorCodes, SourceError } from './errors.js';
import { type ObjectRequest, type ServePolicy, serveObject } from './serve-object.js';
import type { ObjectInfo, ReadOptions, Source } from './sources/source.js';

const object = Buffer.from('0123456789'.repeat(100));
const info: ObjectInfo = {
  size: object.length,
  etag: '"v1"',
  lastModified: new Date('2026-11-30T10:00:00Z'),
  contentType: undefined,
  cacheControl: undefined,
  acceptRanges: true,
};

/** An in-memory source that records every call. */
class FakeSource implements Source {
  readonly calls: string[] = [];
  current = info;

  async stat(): Promise<ObjectInfo> {
    this.calls.push('stat');
    return this.current;
  }

  async read(_key: string, { range, ifMatch }: ReadOptions) {
    this.calls.push(`read ${range ? `${range.start}-${range.end}` : 'all'} ${ifMatch ?? ''}`);
    if (ifMatch !== undefined && ifMatch !== this.current.etag) {
      throw new SourceError('precondition-failed', 'changed');
    }
    const bytes = range ? object.subarray(range.start, range.end + 1) : object;
    return { info: this.current, range, body: Readable.from([bytes]) };
  }

  async probe(): Promise<void> {}
  async close(): Promise<void> {}
}

const policy: ServePolicy = {
  open: { attempts: 0, backoffMs: 1, firstByteMs: 1_000 },
  resume: { attempts: 0, backoffMs: 1 },
  body: { idleMs: 1_000, totalMs: 0 },
};

async function serve(request: ObjectRequest, source = new FakeSource()) {
  const target = {
    source,
    key: 'k',
    presentation: {
      contentType: 'image/jpeg',
      defaultContentType: 'image/jpeg',
      cacheControl: 'no-cache',
      contentDisposition: undefined,
    },
    errors: imageErrorCodes,
  };
  const answer = await serveObject(request, target, policy, new AbortController());
  let sha256: string | undefined;
  if (answer.body instanceof Readable) {
    const hash = createHash('sha256');
    for await (const chunk of answer.body) hash.update(chunk);
    sha256 = hash.digest('hex');
  }
  return { ...answer, sha256, calls: source.calls };
}

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('serveObject decides, then returns {status, headers, body}', () => {
  it('opens a plain GET at once: one source call', async () => {
    const answer = await serve({ method: 'GET', headers: {} });
    expect(answer.status).toBe(200);
    expect(answer.sha256).toBe(digest(object));
    expect(answer.headers['content-length']).toBe('1000');
    expect(answer.calls).toEqual(['read all ']);
  });

  it('answers HEAD from the validators without opening the body', async () => {
    const answer = await serve({ method: 'HEAD', headers: {} });
    expect(answer).toMatchObject({ status: 200, body: undefined, calls: ['stat'] });
    expect(answer.headers['content-length']).toBe('1000');
  });

  it('answers a range with exactly those bytes, asked with If-Match', async () => {
    const answer = await serve({ method: 'GET', headers: { range: 'bytes=10-19' } });
    expect(answer.status).toBe(206);
    expect(answer.sha256).toBe(digest(object.subarray(10, 20)));
    expect(answer.headers['content-range']).toBe('bytes 10-19/1000');
    expect(answer.calls).toEqual(['stat', 'read 10-19 "v1"']);
  });

  it('answers 304 with no body and no read', async () => {
    const answer = await serve({ method: 'GET', headers: { 'if-none-match': '"v1"' } });
    expect(answer).toMatchObject({ status: 304, body: undefined, calls: ['stat'] });
    expect(answer.headers.etag).toBe('"v1"');
  });

  it('answers 412 with the catalogued detail', async () => {
    const answer = await serve({ method: 'GET', headers: { 'if-match': '"v0"' } });
    expect(answer).toMatchObject({ status: 412, body: { detail: 'Precondition Failed' } });
    expect(answer.calls).toEqual(['stat']);
  });

  it('answers 416 with the size that can be asked for', async () => {
    const answer = await serve({ method: 'GET', headers: { range: 'bytes=5000-' } });
    expect(answer).toMatchObject({ status: 416, body: { detail: 'Range Not Satisfiable' } });
    expect(answer.headers['content-range']).toBe('bytes */1000');
  });

  it('decides again once when the object changes between stat and read', async () => {
    const source = new FakeSource();
    let stats = 0;
    source.stat = async () => {
      source.calls.push('stat');
      stats++;
      // The first stat sees v0; by the time it is read, the object is v1.
      return stats === 1 ? { ...info, etag: '"v0"' } : info;
    };
    const answer = await serve({ method: 'GET', headers: { range: 'bytes=0-9' } }, source);
    expect(answer.status).toBe(206);
    expect(answer.calls).toEqual(['stat', 'read 0-9 "v0"', 'stat', 'read 0-9 "v1"']);
  });

  it("throws the route's catalogued error for a source failure", async () => {
    const source = new FakeSource();
    source.stat = async () => {
      throw new SourceError('not-found', 'no such key');
    };
    const failure = serve({ method: 'HEAD', headers: {} }, source);
    await expect(failure).rejects.toBeInstanceOf(GatewayError);
    await expect(failure).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND', statusCode: 404 });
  });
});
