import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { safeEqual } from './constant-time.js';
import { bearerToken, MAX_CREDENTIAL_BYTES } from './credentials.js';

/**
 * A `preHandler` for the metrics route: with a token (`METRICS_TOKEN`), only
 * `Authorization: Bearer <token>` passes, compared in constant time; without one, everything.
 */
export function metricsGuard(expected: string | undefined) {
  return async (request: FastifyRequest): Promise<void> => {
    if (expected === undefined) return;
    const { authorization } = request.headers;
    const presented =
      authorization !== undefined && authorization.length <= MAX_CREDENTIAL_BYTES
        ? bearerToken(authorization)
        : undefined;
    if (presented !== undefined && safeEqual(presented, expected)) return;
    request.log.info({ access: 'metrics-token-mismatch' }, 'access denied');
    throw new GatewayError('NOT_AUTHENTICATED', { headers: { 'www-authenticate': 'Bearer' } });
  };
}
