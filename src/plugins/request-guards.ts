import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from '../errors.js';

/**
 * RFC 9112 §3.2: an HTTP/1.1 request names one Host (HTTP/1.0 need not, as Node's own check
 * has it), never two; Node keeps the first of two and would not say so.
 */
function hostIsWrong(request: IncomingMessage): boolean {
  if (request.httpVersionMinor === 1 && request.headers.host === undefined) return true;
  let hosts = 0;
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.length === 4 && raw[i]?.toLowerCase() === 'host') hosts++;
  }
  return hosts > 1;
}

/**
 * Checks every request before routing: the server is not draining, the request is HTTP/1.x
 * (Node parses HTTP/0.9 and 2.0 request lines too), its Host is one, and named on HTTP/1.1
 * (instead of Node, whose own check app.ts turns off), and its URL is not too long.
 */
export const requestGuardsPlugin = fp(
  async (app: FastifyInstance, options: { maxUrlLength: number }) => {
    // A request on a connection still busy when shutdown begins; Fastify has already set
    // `connection: close` on its reply.
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onRequest', async (request, reply) => {
      if (closing) throw new GatewayError('SHUTTING_DOWN');
      if (request.raw.httpVersionMajor !== 1) throw new GatewayError('BAD_REQUEST');
      if (hostIsWrong(request.raw)) {
        // Which request a proxy in front meant is unclear: no other is read after it.
        reply.header('connection', 'close');
        throw new GatewayError('BAD_REQUEST');
      }
      if (request.url.length > options.maxUrlLength) throw new GatewayError('URL_TOO_LONG');
    });
  },
  { name: 'streamgate-request-guards', dependencies: ['streamgate-errors'] },
);
