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
  return reply.code(error.statusCode).headers(error.headers).send({ detail: error.detail });
}
