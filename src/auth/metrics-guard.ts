import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { safeEqual } from './constant-time.js';
import { MAX_CREDENTIAL_BYTES } from './credentials.js';

/**
 * A `preHandler` for the metrics route: with a token (`METRICS_TOKEN`), only
 * `Authorization: Bearer <token>` passes, compared in constant time; without one, everything.
 */
export function metricsGuard(token: string | undefined) {
  const expected = token === undefined ? undefined : `Bearer ${token}`;
  return async (request: FastifyRequest): Promise<void> => {
    if (expected === undefined) return;
    const presented = request.headers.authorization;
    if (
      presented !== undefined &&
      presented.length <= MAX_CREDENTIAL_BYTES &&
      safeEqual(presented, expected)
    ) {
      return;
    }
    request.log.info({ access: 'metrics-token-mismatch' }, 'access denied');
    throw new GatewayError('NOT_AUTHENTICATED', { headers: { 'www-authenticate': 'Bearer' } });
  };
}
