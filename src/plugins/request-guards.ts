import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from '../errors.js';

/** HTTP/1.1 requires a Host header; HTTP/1.0 does not (as Node's own check). */
function lacksHost(request: IncomingMessage): boolean {
  return request.httpVersionMinor === 1 && request.headers.host === undefined;
}

/**
 * Checks every request before routing: the server is not draining, the request is HTTP/1.x
 * (Node parses HTTP/0.9 and 2.0 request lines too), an HTTP/1.1 one names its Host (RFC 9112,
 * 3.2; instead of Node, whose own check app.ts turns off) and its URL is not too long.
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
      if (lacksHost(request.raw)) throw new GatewayError('BAD_REQUEST');
      if (request.url.length > options.maxUrlLength) throw new GatewayError('URL_TOO_LONG');
    });
  },
  { name: 'streamgate-request-guards', dependencies: ['streamgate-errors'] },
);
