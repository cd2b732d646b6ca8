import type { FastifyInstance } from 'fastify';

/** Liveness: the process answers. */
export function healthRoutes(app: FastifyInstance): void {
  app.get('/healthz', { schema: { summary: 'Liveness probe' } }, async () => ({ status: 'ok' }));
}
