/** The shapes of the conformance table (cases.ts): what is asked and what must come back. */

/** An object a backend holds for the suite, with the validators its storage reports. */
export interface StoredObject {
  id: number;
  size: number;
  /** ETag exactly as the storage reports it, quotes included. */
  etag: string;
  lastModified: Date;
}

/** What the cases need to know about a backend's objects and the gateway in front of it. */
export interface CaseContext {
  /** Pattern bytes 0..size-1 (dev/pattern.ts). */
  large: StoredObject;
  /** A 0-byte object. */
  empty: StoredObject;
  /** A task id whose object does not exist. */
  missingId: number;
  /** The gateway's CACHE_CONTROL; the suite's objects carry none of their own. */
  cacheControl: string;
}

export interface Exchange {
  method: 'GET' | 'HEAD';
  id: number;
  query?: string;
  headers?: Record<string, string>;
  status: number;
  /** Response headers by lower-case name; `null` means the header must be absent. */
  expectHeaders: Record<string, string | null>;
  body: ExpectedBody;
}

/** The body an exchange expects: pattern bytes start..end-1, a JSON value, or none. */
export type ExpectedBody =
  | { kind: 'pattern'; start: number; end: number }
  | { kind: 'json'; value: unknown }
  | { kind: 'empty' };

export interface ConformanceCase {
  name: string;
  build(ctx: CaseContext): Exchange;
}

export const DAY_MS = 86_400_000;

/** An HTTP date, `offsetMs` away from `date`. */
export function httpDate(date: Date, offsetMs = 0): string {
  return new Date(date.getTime() + offsetMs).toUTCString();
}

function validatorHeaders(ctx: CaseContext, object: StoredObject): Record<string, string> {
  return {
    etag: object.etag,
    'last-modified': httpDate(object.lastModified),
    'cache-control': ctx.cacheControl,
  };
}

/** 200 with the whole object; HEAD expects the same headers and no body. */
export function whole(
  ctx: CaseContext,
  object: StoredObject,
  method: 'GET' | 'HEAD' = 'GET',
  headers: Record<string, string> = {},
): Exchange {
  return {
    method,
    id: object.id,
    headers,
    status: 200,
    expectHeaders: {
      ...validatorHeaders(ctx, object),
      'content-type': 'image/jpeg',
      'content-length': String(object.size),
      'accept-ranges': 'bytes',
      'content-range': null,
      'content-disposition': null,
    },
    body: method === 'HEAD' ? { kind: 'empty' } : { kind: 'pattern', start: 0, end: object.size },
  };
}

/** 206 with bytes `first`..`last` inclusive. */
export function partial(
  ctx: CaseContext,
  headers: Record<string, string>,
  first: number,
  last: number,
): Exchange {
  const { large } = ctx;
  return {
    method: 'GET',
    id: large.id,
    headers,
    status: 206,
    expectHeaders: {
      ...validatorHeaders(ctx, large),
      'content-type': 'image/jpeg',
      'content-length': String(last - first + 1),
      'content-range': `bytes ${first}-${last}/${large.size}`,
      'accept-ranges': 'bytes',
    },
    body: { kind: 'pattern', start: first, end: last + 1 },
  };
}

export function notModified(ctx: CaseContext, headers: Record<string, string>): Exchange {
  return {
    method: 'GET',
    id: ctx.large.id,
    headers,
    status: 304,
    expectHeaders: { ...validatorHeaders(ctx, ctx.large), 'content-range': null },
    body: { kind: 'empty' },
  };
}

export function preconditionFailed(ctx: CaseContext, headers: Record<string, string>): Exchange {
  return {
    method: 'GET',
    id: ctx.large.id,
    headers,
    status: 412,
    expectHeaders: { 'content-range': null },
    body: { kind: 'json', value: { detail: 'Precondition Failed' } },
  };
}

export function unsatisfiable(object: StoredObject, range: string): Exchange {
  return {
    method: 'GET',
    id: object.id,
    headers: { range },
    status: 416,
    expectHeaders: { 'content-range': `bytes */${object.size}` },
    body: { kind: 'json', value: { detail: 'Range Not Satisfiable' } },
  };
}

const IMAGE_NOT_FOUND = { detail: 'Image not found' };

export function missing(ctx: CaseContext, method: 'GET' | 'HEAD', headers = {}): Exchange {
  return {
    method,
    id: ctx.missingId,
    headers,
    status: 404,
    expectHeaders: { etag: null, 'content-range': null },
    body: method === 'HEAD' ? { kind: 'empty' } : { kind: 'json', value: IMAGE_NOT_FOUND },
  };
}
