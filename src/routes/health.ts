import type { FastifyInstance } from 'fastify';
import type { Sources } from '../sources/index.js';
import type { Source } from '../sources/source.js';

type CheckResult = 'ok' | 'unavailable';

async function check(source: Source, timeoutMs: number): Promise<CheckResult> {
  try {
    await source.probe(AbortSignal.timeout(timeoutMs));
    return 'ok';
  } catch {
    return 'unavailable';
  }
}

/** Liveness (the process answers) and readiness (storage and upstream reachable). */
export function healthRoutes(app: FastifyInstance, sources: Sources, timeoutMs: number): void {
  app.get('/healthz', { schema: { summary: 'Liveness probe' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Readiness probe' } }, async (_request, reply) => {
    const [storage, upstream] = await Promise.all([
      check(sources.images, timeoutMs),
      check(sources.upstream, timeoutMs),
    ]);
    const checks = { storage, upstream };
    if (storage === 'ok' && upstream === 'ok') return { status: 'ready', checks };
    return reply.code(503).send({ detail: 'Not ready', checks });
  });
}
