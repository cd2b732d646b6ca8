/**
 * The HTTP semantics of the image route (RFC 9110 §13-§14) as a table that every
 * storage backend must pass unchanged: the gateway decides from the object's validators, so the
 * answer cannot depend on what the storage itself implements.
 */
import {
  type CaseContext,
  type ConformanceCase,
  DAY_MS,
  httpDate,
  missing,
  notModified,
  partial,
  preconditionFailed,
  unsatisfiable,
  whole,
} from './exchanges.js';

export type { CaseContext, ConformanceCase, StoredObject } from './exchanges.js';

// The large object's Last-Modified (shifted), the same in ISO 8601 (no HTTP-date), and the weak
// form of an ETag.
const lm = (ctx: CaseContext, offsetMs = 0) => httpDate(ctx.large.lastModified, offsetMs);
const iso = (ctx: CaseContext, offsetMs = 0) => new Date(lm(ctx, offsetMs)).toISOString();
const weak = (etag: string) => `W/${etag}`;

export const CASES: readonly ConformanceCase[] = [
  // Whole object
  { name: 'GET whole object', build: (c) => whole(c, c.large) },
  { name: 'HEAD has the GET headers and no body', build: (c) => whole(c, c.large, 'HEAD') },
  { name: 'GET empty object', build: (c) => whole(c, c.empty) },
  { name: 'HEAD empty object', build: (c) => whole(c, c.empty, 'HEAD') },
  {
    name: '?download=1 adds content-disposition',
    build: (c) => {
      const exchange = whole(c, c.large);
      exchange.query = '?download=1';
      exchange.expectHeaders['content-disposition'] = `attachment; filename="${c.large.id}.jpg"`;
      return exchange;
    },
  },
  // Ranges (RFC 9110 §14)
  { name: 'Range a-b', build: (c) => partial(c, { range: 'bytes=0-99' }, 0, 99) },
  {
    name: 'Range a-b across a MiB boundary',
    build: (c) => partial(c, { range: 'bytes=1048000-1048600' }, 1048000, 1048600),
  },
  {
    name: 'Range a- to the end',
    build: (c) => partial(c, { range: 'bytes=1000000-' }, 1000000, c.large.size - 1),
  },
  {
    name: 'Range -n: the last n bytes',
    build: (c) => partial(c, { range: 'bytes=-500' }, c.large.size - 500, c.large.size - 1),
  },
  {
    name: 'Range -n longer than the object: all of it (§14.1.2)',
    build: (c) => partial(c, { range: `bytes=-${c.large.size + 1000}` }, 0, c.large.size - 1),
  },
  {
    name: 'Range a-b past the end is clipped',
    build: (c) => partial(c, { range: 'bytes=1048690-99999999' }, 1048690, c.large.size - 1),
  },
  {
    name: 'Range starting at the size: 416',
    build: (c) => unsatisfiable(c.large, `bytes=${c.large.size}-`),
  },
  { name: 'Range on an empty object: 416', build: (c) => unsatisfiable(c.empty, 'bytes=0-') },
  {
    name: 'Range -n on an empty object: all of it (§14.1.2)',
    build: (c) => whole(c, c.empty, 'GET', { range: 'bytes=-5' }),
  },
  {
    name: 'Several ranges: whole object',
    build: (c) => whole(c, c.large, 'GET', { range: 'bytes=0-9,200-299' }),
  },
  {
    name: 'Malformed Range (no numbers): whole object',
    build: (c) => whole(c, c.large, 'GET', { range: 'bytes=abc' }),
  },
  {
    name: 'Malformed Range (no unit): whole object',
    build: (c) => whole(c, c.large, 'GET', { range: '0-99' }),
  },
  {
    name: 'Range in an unknown unit: whole object',
    build: (c) => whole(c, c.large, 'GET', { range: 'items=0-5' }),
  },
  // If-Range (§13.1.5)
  {
    name: 'If-Range matching etag: 206',
    build: (c) => partial(c, { range: 'bytes=10-19', 'if-range': c.large.etag }, 10, 19),
  },
  {
    name: 'If-Range other etag: whole object',
    build: (c) => whole(c, c.large, 'GET', { range: 'bytes=10-19', 'if-range': '"other"' }),
  },
  {
    name: 'If-Range weak etag (strong comparison): whole object',
    build: (c) =>
      whole(c, c.large, 'GET', { range: 'bytes=10-19', 'if-range': weak(c.large.etag) }),
  },
  {
    name: 'If-Range matching date: 206',
    build: (c) => partial(c, { range: 'bytes=10-19', 'if-range': lm(c) }, 10, 19),
  },
  {
    name: 'If-Range older date: whole object',
    build: (c) => whole(c, c.large, 'GET', { range: 'bytes=10-19', 'if-range': lm(c, -DAY_MS) }),
  },
  {
    name: 'If-Range neither etag nor HTTP-date: whole object',
    build: (c) => whole(c, c.large, 'GET', { range: 'bytes=10-19', 'if-range': iso(c) }),
  },
  // If-None-Match and If-Modified-Since (§13.1.2, §13.1.3)
  {
    name: 'If-None-Match exact: 304',
    build: (c) => notModified(c, { 'if-none-match': c.large.etag }),
  },
  {
    name: 'If-None-Match list: 304',
    build: (c) => notModified(c, { 'if-none-match': `"a", ${c.large.etag}, "b"` }),
  },
  {
    name: 'If-None-Match list with a tab after a comma: 304',
    build: (c) => notModified(c, { 'if-none-match': `"a",\t${c.large.etag}` }),
  },
  { name: 'If-None-Match *: 304', build: (c) => notModified(c, { 'if-none-match': '*' }) },
  {
    name: 'If-None-Match weak (weak comparison): 304',
    build: (c) => notModified(c, { 'if-none-match': weak(c.large.etag) }),
  },
  {
    name: 'If-None-Match other etag: whole object',
    build: (c) => whole(c, c.large, 'GET', { 'if-none-match': '"other"' }),
  },
  {
    name: 'If-None-Match on HEAD: 304',
    build: (c) => ({ ...notModified(c, { 'if-none-match': c.large.etag }), method: 'HEAD' }),
  },
  {
    name: 'If-None-Match with Range: 304',
    build: (c) => notModified(c, { 'if-none-match': c.large.etag, range: 'bytes=0-9' }),
  },
  {
    name: 'If-Modified-Since at Last-Modified: 304',
    build: (c) => notModified(c, { 'if-modified-since': lm(c) }),
  },
  {
    name: 'If-Modified-Since older: whole object',
    build: (c) => whole(c, c.large, 'GET', { 'if-modified-since': lm(c, -DAY_MS) }),
  },
  {
    name: 'If-Modified-Since not an HTTP-date: whole object',
    build: (c) => whole(c, c.large, 'GET', { 'if-modified-since': iso(c) }),
  },
  {
    name: 'If-None-Match other etag overrides If-Modified-Since: whole object',
    build: (c) =>
      whole(c, c.large, 'GET', { 'if-none-match': '"other"', 'if-modified-since': lm(c) }),
  },
  // If-Match and If-Unmodified-Since (§13.1.1, §13.1.4)
  {
    name: 'If-Match matching: whole object',
    build: (c) => whole(c, c.large, 'GET', { 'if-match': c.large.etag }),
  },
  {
    name: 'If-Match list containing the etag: whole object',
    build: (c) => whole(c, c.large, 'GET', { 'if-match': `"a", ${c.large.etag}` }),
  },
  { name: 'If-Match *: whole object', build: (c) => whole(c, c.large, 'GET', { 'if-match': '*' }) },
  {
    name: 'If-Match matching with Range: 206',
    build: (c) =>
      partial(
        c,
        { 'if-match': c.large.etag, range: 'bytes=-10' },
        c.large.size - 10,
        c.large.size - 1,
      ),
  },
  {
    name: 'If-Match other etag: 412',
    build: (c) => preconditionFailed(c, { 'if-match': '"other"' }),
  },
  {
    name: 'If-Match weak etag (strong comparison): 412',
    build: (c) => preconditionFailed(c, { 'if-match': weak(c.large.etag) }),
  },
  {
    name: 'If-Unmodified-Since older: 412',
    build: (c) => preconditionFailed(c, { 'if-unmodified-since': lm(c, -DAY_MS) }),
  },
  {
    name: 'If-Unmodified-Since at Last-Modified: whole object',
    build: (c) => whole(c, c.large, 'GET', { 'if-unmodified-since': lm(c) }),
  },
  {
    name: 'If-Unmodified-Since not an HTTP-date: whole object',
    build: (c) => whole(c, c.large, 'GET', { 'if-unmodified-since': iso(c, -DAY_MS) }),
  },
  {
    name: '412 before 304: failing If-Match with matching If-None-Match',
    build: (c) => preconditionFailed(c, { 'if-match': '"other"', 'if-none-match': c.large.etag }),
  },
  {
    name: '412 before 304: failing If-Unmodified-Since with matching If-Modified-Since',
    build: (c) =>
      preconditionFailed(c, {
        'if-unmodified-since': lm(c, -DAY_MS),
        'if-modified-since': lm(c),
      }),
  },
  {
    name: '412 before 416: failing If-Match with an unsatisfiable Range',
    build: (c) => preconditionFailed(c, { 'if-match': '"other"', range: `bytes=${c.large.size}-` }),
  },
  // Missing object
  { name: 'GET missing object: 404', build: (c) => missing(c, 'GET') },
  { name: 'HEAD missing object: 404 without body', build: (c) => missing(c, 'HEAD') },
  {
    name: 'Conditional GET of a missing object: 404',
    build: (c) => missing(c, 'GET', { 'if-none-match': '*', range: 'bytes=0-9' }),
  },
];
