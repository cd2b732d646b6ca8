import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { CorsOrigins } from '../auth/settings.js';

const ALLOWED_HEADERS = [
  'Range',
  'If-Match',
  'If-None-Match',
  'If-Modified-Since',
  'If-Unmodified-Since',
  'If-Range',
  'Authorization',
  'x-api-key',
];

const EXPOSED_HEADERS = [
  'Content-Range',
  'Accept-Ranges',
  'Content-Length',
  'ETag',
  'Last-Modified',
  'Content-Disposition',
  'X-Request-Id',
  'WWW-Authenticate',
];

const PREFLIGHT_MAX_AGE_S = 600;

const NOT_APPLIED: FastifyCorsOptions = { origin: false };

/**
 * CORS applies only to a listed origin (any with `*`), and to OPTIONS only when it is a real
 * preflight: another origin gets no CORS header at all, and any other OPTIONS keeps the 405
 * every other method gets.
 */
function optionsFor(origins: CorsOrigins) {
  const listed = origins === '*' ? undefined : new Set(origins);
  const applied: FastifyCorsOptions = {
    origin: origins === '*' ? '*' : true,
    methods: ['GET', 'HEAD'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_S,
  };
  return (request: FastifyRequest): FastifyCorsOptions => {
    const origin = request.headers.origin;
    if (listed !== undefined && (origin === undefined || !listed.has(origin))) return NOT_APPLIED;
    // A preflight carries both (Fetch's CORS-preflight request); @fastify/cors would answer an
    // OPTIONS without an Origin with a plain-text 400 of its own.
    const notPreflight =
      request.method === 'OPTIONS' &&
      (origin === undefined || request.headers['access-control-request-method'] === undefined);
    return notPreflight ? NOT_APPLIED : applied;
  };
}

async function corsForOrigins(app: FastifyInstance, { origins }: { origins?: CorsOrigins }) {
  if (origins === undefined) return;
  const decide = optionsFor(origins);
  await app.register(cors, {
    hook: 'onRequest',
    delegator: (request, callback) => callback(null, decide(request)),
  });
}

/**
 * Cross-origin reads of the tasks routes for the origins of `CORS_ORIGINS`, with the headers a
 * player needs (Range, conditionals, credentials) and the ones it reads back. Register before
 * the access plugin: preflights carry no credentials and are answered in this hook.
 */
export const corsPlugin = fp(corsForOrigins, { name: 'streamgate-cors', fastify: '5.x' });
