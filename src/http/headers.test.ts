import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../sources/source.js';
import { attachment, type Presentation, responseHeaders } from './headers.js';

const info: ObjectInfo = {
  size: 1000,
  etag: '"abc"',
  lastModified: new Date('2026-11-30T10:00:00Z'),
  contentType: 'video/mp4',
  cacheControl: undefined,
  acceptRanges: true,
};

const relay: Presentation = {
  contentType: undefined,
  defaultContentType: 'application/octet-stream',
  cacheControl: 'no-cache',
  contentDisposition: undefined,
};

describe('responseHeaders', () => {
  it('describes a whole object', () => {
    expect(responseHeaders({ status: 200 }, info, relay)).toEqual({
      etag: '"abc"',
      'last-modified': 'Mon, 30 Nov 2026 10:00:00 GMT',
      'cache-control': 'no-cache',
      'accept-ranges': 'bytes',
      'content-type': 'video/mp4',
      'content-length': '1000',
    });
  });

  it('describes a range with its length and Content-Range', () => {
    const headers = responseHeaders(
      { status: 206, range: { start: 10, end: 19 }, size: 1000 },
      info,
      relay,
    );
    expect(headers['content-range']).toBe('bytes 10-19/1000');
    expect(headers['content-length']).toBe('10');
  });

  it("gives Content-Range the total of the answer sending the bytes, not the validators'", () => {
    const headers = responseHeaders(
      { status: 206, range: { start: 10, end: 19 }, size: 1000 },
      { ...info, size: 2000 },
      relay,
    );
    expect(headers['content-range']).toBe('bytes 10-19/2000');
    expect(headers['content-length']).toBe('10');
  });

  it('gives 304 only the validators and the cache-control a 200 would have', () => {
    expect(Object.keys(responseHeaders({ status: 304 }, info, relay))).toEqual([
      'etag',
      'last-modified',
      'cache-control',
    ]);
  });

  it('gives 412 and 416 no cache-control, which would let a cache keep the refusal', () => {
    const cached = { ...info, cacheControl: 'public, max-age=31536000' };
    expect(Object.keys(responseHeaders({ status: 412 }, cached, relay))).toEqual([
      'etag',
      'last-modified',
    ]);
    expect(responseHeaders({ status: 416 }, cached, relay)).toEqual({
      etag: '"abc"',
      'last-modified': 'Mon, 30 Nov 2026 10:00:00 GMT',
      'accept-ranges': 'bytes',
      'content-range': 'bytes */1000',
    });
  });

  it('prefers the route content type, then the source, then the default', () => {
    const fixed = { ...relay, contentType: 'image/jpeg' };
    expect(responseHeaders({ status: 200 }, info, fixed)['content-type']).toBe('image/jpeg');
    const unnamed = { ...info, contentType: undefined };
    expect(responseHeaders({ status: 200 }, unnamed, relay)['content-type']).toBe(
      'application/octet-stream',
    );
  });

  it("keeps the object's own Cache-Control", () => {
    const cached = { ...info, cacheControl: 'max-age=60' };
    expect(responseHeaders({ status: 200 }, cached, relay)['cache-control']).toBe('max-age=60');
  });

  it("keeps a pre-compressed object's Content-Encoding on its 200 and 206, not on a 304", () => {
    const gzipped = { ...info, contentEncoding: 'gzip' };
    expect(responseHeaders({ status: 200 }, gzipped, relay)['content-encoding']).toBe('gzip');
    const part = { status: 206, range: { start: 0, end: 9 }, size: 1000 } as const;
    expect(responseHeaders(part, gzipped, relay)['content-encoding']).toBe('gzip');
    expect(responseHeaders({ status: 304 }, gzipped, relay)['content-encoding']).toBeUndefined();
    expect(responseHeaders({ status: 200 }, info, relay)['content-encoding']).toBeUndefined();
  });

  it('leaves out length and ranges when the size is unknown', () => {
    const streamed = { ...info, size: undefined, acceptRanges: false };
    const headers = responseHeaders({ status: 200 }, streamed, relay);
    expect(headers['content-length']).toBeUndefined();
    expect(headers['accept-ranges']).toBeUndefined();
  });
});

describe('attachment', () => {
  it('keeps only header-safe characters in the filename', () => {
    expect(attachment('1.jpg')).toBe('attachment; filename="1.jpg"');
    expect(attachment('a"b\r\nc;d.jpg')).toBe('attachment; filename="a_b__c_d.jpg"');
  });
});
