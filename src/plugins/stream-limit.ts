import type { onRequestHookHandler } from 'fastify';
import { GatewayError } from '../errors.js';

/**
 * A hook that caps the streams in flight in this process: beyond `max`, a request is answered
 * 503 with `retry-after` before any source is asked. A slot is freed when the response closes,
 * however it ends.
 */
export function streamLimit(max: number): onRequestHookHandler {
  let active = 0;
  const release = () => {
    active--;
  };
  return async (_request, reply) => {
    // A client gone during an earlier asynchronous hook: its 'close' has fired already, so a
    // slot taken now would never be freed. sendObject does not open a source for it either.
    if (reply.raw.closed) return;
    if (active >= max) {
      throw new GatewayError('TOO_MANY_STREAMS', { headers: { 'retry-after': '1' } });
    }
    active++;
    reply.raw.once('close', release);
  };
}
