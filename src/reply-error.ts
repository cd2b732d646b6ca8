import type { FastifyReply } from 'fastify';
import type { GatewayError } from './errors.js';

/**
 * Answers a catalogued error as `{"detail": …}` with its status and headers. A 5xx never says
 * more than its detail; its cause goes to the request's log.
 */
export function replyGatewayError(reply: FastifyReply, error: GatewayError): FastifyReply {
  if (error.statusCode >= 500) {
    reply.log.warn({ err: error.cause, code: error.code }, error.detail);
  }
  // A team's handler may have set them for the object before it failed: they would describe a
  // body that is not sent, and let a cache keep the error as long as the object.
  for (const name of OBJECT_HEADERS) reply.removeHeader(name);
  return reply.code(error.statusCode).headers(error.headers).send({ detail: error.detail });
}

const OBJECT_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'content-encoding',
  'content-disposition',
  'etag',
  'last-modified',
  'accept-ranges',
  'cache-control',
];
