import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../sources/source.js';
import { decide, needsValidators } from './conditional.js';

const info: ObjectInfo = {
  size: 1000,
  etag: '"abc"',
  lastModified: new Date('2026-11-30T10:00:00.500Z'),
  contentType: undefined,
  cacheControl: undefined,
  acceptRanges: true,
};
const lastModified = 'Mon, 30 Nov 2026 10:00:00 GMT';
const earlier = 'Mon, 30 Nov 2026 09:59:59 GMT';

describe('decide (RFC 9110 §13.2.2 order)', () => {
  it.each([
    [{}, 200],
    [{ 'if-match': '"abc"' }, 200],
    [{ 'if-match': '"x", "abc"' }, 200],
    [{ 'if-match': '*' }, 200],
    [{ 'if-match': '"x"' }, 412],
    [{ 'if-match': 'W/"abc"' }, 412],
    [{ 'if-unmodified-since': lastModified }, 200],
    [{ 'if-unmodified-since': earlier }, 412],
    [{ 'if-unmodified-since': 'not a date' }, 200],
    [{ 'if-none-match': '"abc"' }, 304],
    [{ 'if-none-match': 'W/"abc"' }, 304],
    [{ 'if-none-match': '"x", "abc"' }, 304],
    [{ 'if-none-match': '*' }, 304],
    [{ 'if-none-match': '"x"' }, 200],
    [{ 'if-none-match': '"x"', 'if-modified-since': lastModified }, 200],
    [{ 'if-modified-since': lastModified }, 304],
    [{ 'if-modified-since': earlier }, 200],
    [{ 'if-match': '"x"', 'if-none-match': '"abc"' }, 412],
    [{ range: 'bytes=0-9' }, 206],
    [{ range: 'bytes=1000-' }, 416],
    [{ range: 'bytes=0-1,5-6' }, 200],
    [{ range: 'bytes=oops' }, 200],
    [{ range: 'items=0-1' }, 200],
    [{ range: 'bytes=0-9', 'if-range': '"abc"' }, 206],
    [{ range: 'bytes=0-9', 'if-range': 'W/"abc"' }, 200],
    [{ range: 'bytes=0-9', 'if-range': '"x"' }, 200],
    [{ range: 'bytes=0-9', 'if-range': lastModified }, 206],
    [{ range: 'bytes=0-9', 'if-range': earlier }, 200],
    [{ range: 'bytes=0-9', 'if-none-match': '"abc"' }, 304],
  ])('%j -> %i', (headers, status) => {
    expect(decide(headers, info).status).toBe(status);
  });

  it('resolves suffix and open ranges against the size', () => {
    expect(decide({ range: 'bytes=-10' }, info)).toEqual({
      status: 206,
      range: { start: 990, end: 999 },
      size: 1000,
    });
    expect(decide({ range: 'bytes=995-' }, info)).toEqual({
      status: 206,
      range: { start: 995, end: 999 },
      size: 1000,
    });
    expect(decide({ range: 'bytes=990-5000' }, info)).toEqual({
      status: 206,
      range: { start: 990, end: 999 },
      size: 1000,
    });
  });

  it('ignores Range when the source cannot serve ranges or has no size', () => {
    expect(decide({ range: 'bytes=0-9' }, { ...info, acceptRanges: false }).status).toBe(200);
    expect(decide({ range: 'bytes=0-9' }, { ...info, size: undefined }).status).toBe(200);
  });

  it('fails If-Match when the object has no ETag', () => {
    expect(decide({ 'if-match': '"abc"' }, { ...info, etag: undefined }).status).toBe(412);
  });

  it('knows which requests need the validators first', () => {
    expect(needsValidators({})).toBe(false);
    expect(needsValidators({ range: 'bytes=0-1' })).toBe(true);
    expect(needsValidators({ 'if-none-match': '"a"' })).toBe(true);
  });
});
