import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.js';

/**
 * Caps the streams in flight: beyond `max`, a request is answered 503 with `retry-after` before
 * any source is asked. A slot is freed when the response closes, however it ends.
 */
export function limitConcurrentStreams(app: FastifyInstance, max: number): void {
  let active = 0;
  app.addHook('onRequest', async (_request, reply) => {
    if (active >= max) {
      throw new GatewayError('TOO_MANY_STREAMS', { headers: { 'retry-after': '1' } });
    }
    active++;
    reply.raw.once('close', () => {
      active--;
    });
  });
}
