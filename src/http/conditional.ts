import type { ByteRange, ObjectInfo } from '../sources/source.js';
import { parseEtagList, strongMatch, weakMatch } from './etag.js';
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

const DAY_NAME = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const LONG_DAY_NAME = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(?<month>${MONTHS.join('|')})`;
const TIME = String.raw`(?<hour>[01]\d|2[0-3]):(?<minute>[0-5]\d):(?<second>[0-5]\d|60)`;

/** The three forms of HTTP-date (RFC 9110 §5.6.7), case-sensitive and naming the same fields. */
const HTTP_DATE_FORMS = [
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  new RegExp(String.raw`^(?:${DAY_NAME}), (?<day>\d\d) ${MONTH} (?<year>\d{4}) ${TIME} GMT$`),
  // Obsolete RFC 850 date: Sunday, 06-Nov-94 08:49:37 GMT
  new RegExp(String.raw`^(?:${LONG_DAY_NAME}), (?<day>\d\d)-${MONTH}-(?<year>\d\d) ${TIME} GMT$`),
  // Obsolete asctime date: Sun Nov  6 08:49:37 1994
  new RegExp(String.raw`^(?:${DAY_NAME}) ${MONTH} (?<day>[ \d]\d) ${TIME} (?<year>\d{4})$`),
];

/**
 * Milliseconds since the epoch, or NaN (which no comparison passes) for anything but an
 * HTTP-date: RFC 9110 §13.1.3-§13.1.5 have such a date ignored, or If-Range fail, where
 * `Date.parse` would also read `2024-01-01` or `1`.
 */
function httpDate(value: string | undefined): number {
  const fields =
    value === undefined
      ? undefined
      : HTTP_DATE_FORMS.map((form) => form.exec(value)?.groups).find(Boolean);
  if (fields === undefined) return Number.NaN;
  const { year = '', month = '', day = '', hour, minute, second } = fields;
  const date = new Date(0);
  date.setUTCFullYear(
    year.length === 2 ? rfc850Year(Number(year)) : Number(year),
    MONTHS.indexOf(month),
    Number(day),
  );
  // Not a calendar day: `31 Nov` would become 1 Dec.
  if (date.getUTCDate() !== Number(day)) return Number.NaN;
  date.setUTCHours(Number(hour), Number(minute), Number(second));
  return date.getTime();
}

/** RFC 9110 §5.6.7: the latest year ending in these digits that is at most 50 years ahead. */
function rfc850Year(twoDigits: number): number {
  const latest = new Date().getUTCFullYear() + 50;
  return latest - ((latest - twoDigits) % 100);
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
  // Ignored when not a date, and when the object has no modification date to compare.
  const since = httpDate(headers['if-unmodified-since']);
  if (Number.isNaN(since) || info.lastModified === undefined) return false;
  return seconds(info.lastModified) > since;
}

/** RFC 9110 §13.1.2 and §13.1.3: If-Modified-Since counts only without If-None-Match. */
function notModified(headers: RequestValidators, info: ObjectInfo): boolean {
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) return noneMatchFails(ifNoneMatch, info.etag);
  const since = httpDate(headers['if-modified-since']);
  return info.lastModified !== undefined && seconds(info.lastModified) <= since;
}

/**
 * If-None-Match with weak comparison (RFC 9110 §8.8.3.2). Not `fresh`: its list parsing splits
 * inside quoted tags and skips spaces but not the tabs that OWS allows (§5.6.1).
 */
function noneMatchFails(ifNoneMatch: string, etag: string | undefined): boolean {
  if (ifNoneMatch.trim() === '*') return true;
  return etag !== undefined && parseEtagList(ifNoneMatch).some((tag) => weakMatch(tag, etag));
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
