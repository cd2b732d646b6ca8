import fresh from 'fresh';
import type { ByteRange, ObjectInfo } from '../sources/source.js';
import { parseEtagList, strongMatch } from './etag.js';
import { resolveRange } from './range.js';

/** The request headers that decide the answer. */
export interface RequestValidators {
  range?: string | undefined;
  'if-match'?: string | undefined;
  'if-none-match'?: string | undefined;
  'if-modified-since'?: string | undefined;
  'if-unmodified-since'?: string | undefined;
  'if-range'?: string | undefined;
}

export type Decision =
  | { status: 200 }
  | { status: 206; range: ByteRange; size: number }
  | { status: 304 }
  | { status: 412 }
  | { status: 416 };

/** True when the answer depends on the object's validators or size, which must be known first. */
export function needsValidators(headers: RequestValidators): boolean {
  return (
    headers.range !== undefined ||
    headers['if-match'] !== undefined ||
    headers['if-none-match'] !== undefined ||
    headers['if-modified-since'] !== undefined ||
    headers['if-unmodified-since'] !== undefined
  );
}

function httpDate(value: string | undefined): number {
  return value === undefined ? Number.NaN : Date.parse(value);
}

/** Whole seconds, as HTTP dates carry no milliseconds. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000) * 1000;
}

/** RFC 9110 §13.1.1 and §13.1.4. */
function preconditionFails(headers: RequestValidators, info: ObjectInfo): boolean {
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (ifMatch.trim() === '*') return false;
    const etag = info.etag;
    return etag === undefined || !parseEtagList(ifMatch).some((tag) => strongMatch(tag, etag));
  }
  const since = httpDate(headers['if-unmodified-since']);
  if (Number.isNaN(since)) return false;
  return info.lastModified === undefined || seconds(info.lastModified) > since;
}

/**
 * RFC 9110 §13.1.2 and §13.1.3, with the `fresh` module that Express and fastify/send use. Only
 * the validators are handed over: `fresh` also applies a cache's rule (a request's
 * `Cache-Control: no-cache` forces a full answer), which an origin must not, and `fetch()` adds
 * that header to every conditional request.
 */
function notModified(headers: RequestValidators, info: ObjectInfo): boolean {
  const ifNoneMatch = headers['if-none-match'];
  const ifModifiedSince = headers['if-modified-since'];
  if (ifNoneMatch === undefined && ifModifiedSince === undefined) return false;
  return fresh(
    { 'if-none-match': ifNoneMatch, 'if-modified-since': ifModifiedSince },
    { etag: info.etag, 'last-modified': info.lastModified?.toUTCString() },
  );
}

/** RFC 9110 §13.1.5: a stale If-Range turns a range request into a whole one. */
function rangeStillValid(ifRange: string | undefined, info: ObjectInfo): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    return info.etag !== undefined && strongMatch(value, info.etag);
  }
  const date = httpDate(value);
  return info.lastModified !== undefined && seconds(info.lastModified) === date;
}

/**
 * Decides the status of a GET or HEAD from the request's validators and the object's, in the
 * order of RFC 9110 §13.2.2 (as fastify/send does): 412, then 304, then If-Range, then 206/416.
 */
export function decide(headers: RequestValidators, info: ObjectInfo): Decision {
  if (preconditionFails(headers, info)) return { status: 412 };
  if (notModified(headers, info)) return { status: 304 };
  const range = headers.range;
  if (range === undefined || !info.acceptRanges || info.size === undefined) return { status: 200 };
  if (!rangeStillValid(headers['if-range'], info)) return { status: 200 };
  const outcome = resolveRange(range, info.size);
  if (outcome.kind === 'partial') return { status: 206, range: outcome.range, size: info.size };
  if (outcome.kind === 'unsatisfiable') return { status: 416 };
  return { status: 200 };
}
