import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from '../errors.js';

/**
 * Checks every request before routing: the server is not draining, the request is HTTP/1.x
 * (Node parses HTTP/0.9 and 2.0 request lines too) and its URL is not too long.
 */
export const requestGuardsPlugin = fp(
  async (app: FastifyInstance, options: { maxUrlLength: number }) => {
    // A request on a connection still busy when shutdown begins; Fastify has already set
    // `connection: close` on its reply.
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onRequest', async (request) => {
      if (closing) throw new GatewayError('SHUTTING_DOWN');
      if (request.raw.httpVersionMajor !== 1) throw new GatewayError('BAD_REQUEST');
      if (request.url.length > options.maxUrlLength) throw new GatewayError('URL_TOO_LONG');
    });
  },
  { name: 'streamgate-request-guards', dependencies: ['streamgate-errors'] },
);
