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
    [{ 'if-match': '"x",\t"abc"' }, 200],
    [{ 'if-unmodified-since': lastModified }, 200],
    [{ 'if-unmodified-since': earlier }, 412],
    [{ 'if-unmodified-since': 'not a date' }, 200],
    [{ 'if-unmodified-since': '2026-11-01' }, 200],
    [{ 'if-unmodified-since': '1' }, 200],
    [{ 'if-none-match': '"abc"' }, 304],
    [{ 'if-none-match': 'W/"abc"' }, 304],
    [{ 'if-none-match': '"x", "abc"' }, 304],
    [{ 'if-none-match': '"x",\t"abc"' }, 304],
    [{ 'if-none-match': '*' }, 304],
    [{ 'if-none-match': '"x"' }, 200],
    [{ 'if-none-match': '"x"', 'if-modified-since': lastModified }, 200],
    [{ 'if-modified-since': lastModified }, 304],
    [{ 'if-modified-since': earlier }, 200],
    [{ 'if-modified-since': '2030' }, 200],
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
    [{ range: 'bytes=0-9', 'if-range': '2026-11-30T10:00:00Z' }, 200],
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

  it('ignores date conditions when the object has no Last-Modified (§13.1.3, §13.1.4)', () => {
    const undated = { ...info, lastModified: undefined };
    expect(decide({ 'if-unmodified-since': earlier }, undated).status).toBe(200);
    expect(decide({ 'if-modified-since': lastModified }, undated).status).toBe(200);
    expect(decide({ range: 'bytes=0-9', 'if-range': lastModified }, undated).status).toBe(200);
  });

  it('ignores Range when the source cannot serve ranges or has no size', () => {
    expect(decide({ range: 'bytes=0-9' }, { ...info, acceptRanges: false }).status).toBe(200);
    expect(decide({ range: 'bytes=0-9' }, { ...info, size: undefined }).status).toBe(200);
  });

  it('does not split a quoted ETag at its comma', () => {
    expect(decide({ 'if-none-match': '"c,d"' }, { ...info, etag: '"c,d"' }).status).toBe(304);
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

describe('HTTP-date (RFC 9110 §5.6.7)', () => {
  const modified: ObjectInfo = { ...info, lastModified: new Date('1994-11-06T08:49:37Z') };
  const asValidator = (date: string) => [
    decide({ 'if-modified-since': date }, modified).status,
    decide({ range: 'bytes=0-9', 'if-range': date }, modified).status,
  ];

  it.each([
    'Sun, 06 Nov 1994 08:49:37 GMT',
    'Sunday, 06-Nov-94 08:49:37 GMT',
    'Sun Nov  6 08:49:37 1994',
  ])('accepts %j', (date) => {
    expect(asValidator(date)).toEqual([304, 206]);
  });

  it.each([
    '1994-11-06T08:49:37Z',
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 06 Nov 1994 08:49:37 +0000',
    'sun, 06 nov 1994 08:49:37 gmt',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'Sun, 06 Nov 94 08:49:37 GMT',
    'Sunday, 06-Nov-1994 08:49:37 GMT',
    'Sun Nov 06 08:49:37 1994 GMT',
    'Sun, 06 Nov 1994 8:49:37 GMT',
    'Sun, 31 Nov 1994 08:49:37 GMT',
  ])('ignores %j', (date) => {
    expect(asValidator(date)).toEqual([200, 200]);
  });
});
