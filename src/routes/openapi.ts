import type { SwaggerTransform } from '@fastify/swagger';
import { catalogue, type ErrorCode, VALIDATION_FAILED } from '../errors.js';
import type { ObjectRouteSpec } from './table.js';

/** Any one of these opens the tasks routes once access control is configured. */
const TASK_SECURITY: readonly Record<string, string[]>[] = [
  { apiKey: [] },
  { bearer: [] },
  { signedUrl: [] },
];

/**
 * The access methods of a route: those of access control for `/tasks/...`, none elsewhere. Here
 * rather than in the docs plugin, so that the library, which documents its route-table entries,
 * never loads @fastify/swagger.
 */
export function securityOf(url: string): readonly Record<string, string[]>[] {
  if (url === '/metrics') return METRICS_SECURITY;
  return url.startsWith('/tasks/') ? TASK_SECURITY : [];
}

/** `/metrics` asks for its own token, when `METRICS_TOKEN` is set. */
const METRICS_SECURITY: readonly Record<string, string[]>[] = [{ metricsToken: [] }];

/**
 * The OpenAPI description of an object route, from its entry in the route table. It is given to
 * @fastify/swagger only (`config.swaggerTransform`), never to Fastify's schema compiler: a
 * `response` schema would make Fastify serialize bodies, and a `headers` one validate them.
 */

/** A catalogued answer `{"detail": …}`, documented with when it is given. */
export function detail(code: ErrorCode, when: string) {
  return {
    description: `${catalogue[code].detail}: ${when}.`,
    type: 'object',
    properties: { detail: { type: 'string', example: catalogue[code].detail } },
    required: ['detail'],
    headers: { 'x-request-id': requestIdHeader },
  };
}

const requestIdHeader = {
  type: 'string',
  description: 'The request id: the caller’s `x-request-id` when well-formed, else a new UUID.',
};

/** FastAPI's shape of a bad parameter. */
const validationFailed = {
  description: `A bad path or query parameter (${VALIDATION_FAILED}).`,
  type: 'object',
  properties: {
    detail: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          loc: { type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'integer' }] } },
          msg: { type: 'string' },
          type: { type: 'string' },
        },
        required: ['loc', 'msg', 'type'],
      },
    },
  },
  required: ['detail'],
  headers: { 'x-request-id': requestIdHeader },
};

function objectHeaders(partial: boolean) {
  return {
    'content-length': { type: 'integer', description: 'Bytes in this body.' },
    ...(partial
      ? { 'content-range': { type: 'string', description: 'The range sent: `bytes a-b/size`.' } }
      : {}),
    etag: { type: 'string', description: 'The object’s entity tag, as storage reports it.' },
    'last-modified': { type: 'string', description: 'When the object last changed.' },
    'accept-ranges': { type: 'string', enum: ['bytes'] },
    'cache-control': { type: 'string', description: 'The object’s own, else `CACHE_CONTROL`.' },
    'content-disposition': { type: 'string', description: 'With `?download=1`: an attachment.' },
    'x-request-id': requestIdHeader,
  };
}

function body(spec: ObjectRouteSpec) {
  const type = spec.contentType ?? spec.defaultContentType;
  return { [type]: { schema: { type: 'string', format: 'binary' } } };
}

/** What the request guards may answer on any route. */
const guardResponses = {
  400: detail('BAD_REQUEST', 'a request line other than HTTP/1.x, or a URL that cannot be decoded'),
  414: detail('URL_TOO_LONG', 'a URL longer than `MAX_URL_LENGTH`'),
  503: detail('SHUTTING_DOWN', 'the server is draining'),
};

/**
 * A swagger transform that documents a route with `extra` (tags, headers, responses) and the
 * guards' answers, for the OpenAPI document only.
 */
export function documented(extra: {
  tags: string[];
  response: Record<number, unknown>;
  [key: string]: unknown;
}): SwaggerTransform {
  const response = { ...guardResponses, ...extra.response };
  return ({ schema, url }) => ({
    schema: { ...schema, ...extra, response, security: securityOf(url) },
    url,
  });
}

/** The request headers an object route honours, as header parameters. */
export const honouredHeaders = {
  type: 'object',
  properties: {
    range: {
      type: 'string',
      description: 'One byte range, `bytes=a-b`, `bytes=a-` or `bytes=-n`: a 206 of those bytes.',
    },
    'if-range': {
      type: 'string',
      description: 'An ETag or a date: the range only while the object is still that version.',
    },
    'if-none-match': { type: 'string', description: 'ETags (weak comparison): 304 on a match.' },
    'if-match': {
      type: 'string',
      description: 'ETags (strong comparison): 412 unless one matches.',
    },
    'if-modified-since': { type: 'string', description: 'An HTTP date: 304 when not modified.' },
    'if-unmodified-since': { type: 'string', description: 'An HTTP date: 412 when modified.' },
    'x-request-id': {
      type: 'string',
      pattern: '^[A-Za-z0-9._:-]{1,128}$',
      description: 'Kept and echoed when it matches; anything else is replaced by a new UUID.',
    },
  },
};

/** The answers of an object route: the object, whole or in part, and every catalogued failure. */
function objectResponses(spec: ObjectRouteSpec, method: 'GET' | 'HEAD') {
  const { errors } = spec;
  const object = method === 'GET' ? { content: body(spec) } : { type: 'null' };
  const {
    etag,
    'last-modified': lastModified,
    'cache-control': cacheControl,
  } = objectHeaders(false);
  // A route may word a missing object as a source failure (the bytes route: 502).
  const notFound = catalogue[errors['not-found']].status === 404;
  return {
    200: { description: 'The object.', headers: objectHeaders(false), ...object },
    206: { description: 'The range asked.', headers: objectHeaders(true), ...object },
    304: {
      description: 'Not modified: `If-None-Match` or `If-Modified-Since` matched.',
      type: 'null',
      headers: {
        etag,
        'last-modified': lastModified,
        'cache-control': cacheControl,
        'x-request-id': requestIdHeader,
      },
    },
    401: {
      ...detail('NOT_AUTHENTICATED', 'access control is on and no valid credential came'),
      headers: {
        'www-authenticate': { type: 'string', description: '`Bearer`.' },
        'x-request-id': requestIdHeader,
      },
    },
    403: detail('FORBIDDEN', 'the credential does not reach this task'),
    ...(notFound ? { 404: detail(errors['not-found'], 'no such object') } : {}),
    412: detail('PRECONDITION_FAILED', '`If-Match` or `If-Unmodified-Since` failed'),
    416: {
      ...detail('RANGE_NOT_SATISFIABLE', 'the range starts beyond the object'),
      headers: {
        'content-range': { type: 'string', description: '`bytes */size`.' },
        'x-request-id': requestIdHeader,
      },
    },
    422: validationFailed,
    502: detail(errors.unavailable, 'the source refused, failed, or broke beyond resuming'),
    503: {
      ...detail(
        'TOO_MANY_STREAMS',
        'too many requests on the object routes in flight (with `retry-after`), or the server is draining',
      ),
      headers: {
        'retry-after': { type: 'integer', description: 'Seconds to wait before trying again.' },
        'x-request-id': requestIdHeader,
      },
    },
    504: detail(errors.timeout, 'the source did not answer in time'),
  };
}

/** The operation of an object route for one method: its id, summary and documentation. */
export function objectOperation(spec: ObjectRouteSpec, method: 'GET' | 'HEAD') {
  const head = method === 'HEAD';
  return {
    operationId: head ? headOperationId(spec.operationId) : spec.operationId,
    summary: head ? `${spec.summary}: headers only` : spec.summary,
    swaggerTransform: documented({
      // @fastify/swagger suffixes a HEAD route's id with `-head`; this one is already unique.
      operationId: head ? headOperationId(spec.operationId) : spec.operationId,
      tags: ['objects'],
      description: head
        ? 'The headers of the matching GET, Range included, without reading the body.'
        : 'Streams the object from its source without buffering it; honours Range and the conditional headers.',
      headers: honouredHeaders,
      response: objectResponses(spec, method),
    }),
  };
}

function headOperationId(getId: string): string {
  return getId.startsWith('get') ? `head${getId.slice(3)}` : `${getId}Head`;
}
