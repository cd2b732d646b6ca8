import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { catalogue } from '../errors.js';
import type { Source } from '../sources/source.js';
import { detail, documented } from './openapi.js';

type CheckResult = 'ok' | 'unavailable';

async function check(source: Source, timeoutMs: number): Promise<CheckResult> {
  try {
    await source.probe(AbortSignal.timeout(timeoutMs));
    return 'ok';
  } catch {
    return 'unavailable';
  }
}

export interface HealthOptions {
  sources: ReadonlyMap<string, Source>;
  /** How long each source has to answer its probe. */
  timeoutMs: number;
}

const checks = {
  type: 'object',
  additionalProperties: { type: 'string', enum: ['ok', 'unavailable'] },
  description: 'Each source by name.',
};

/** The route options of an operations probe: its OpenAPI operation and answers. */
function probeRoute(operationId: string, summary: string, response: Record<number, unknown>) {
  return {
    schema: { operationId, summary },
    config: { swaggerTransform: documented({ tags: ['operations'], response }) },
  };
}

const liveness = probeRoute('getLiveness', 'Liveness probe', {
  200: {
    description: 'The process answers.',
    type: 'object',
    properties: { status: { type: 'string', enum: ['ok'] } },
  },
});

const readiness = probeRoute('getReadiness', 'Readiness probe', {
  200: {
    description: 'Every source answered its probe.',
    type: 'object',
    properties: { status: { type: 'string', enum: ['ready'] }, checks },
  },
  503: {
    ...detail('NOT_READY', 'a source did not answer its probe, or the server is draining'),
    properties: { detail: { type: 'string' }, checks },
  },
});

/** Liveness (the process answers) and readiness (every source reachable, by name). */
export const healthRoutesPlugin = fp(
  async (app: FastifyInstance, { sources, timeoutMs }: HealthOptions) => {
    app.get('/healthz', liveness, async () => ({ status: 'ok' }));
    app.get('/readyz', readiness, async (_request, reply) => {
      const names = [...sources.keys()];
      const results = await Promise.all([...sources.values()].map((s) => check(s, timeoutMs)));
      const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
      if (results.every((result) => result === 'ok')) return { status: 'ready', checks };
      return reply.code(503).send({ detail: catalogue.NOT_READY.detail, checks });
    });
  },
  { name: 'streamgate-health', dependencies: ['streamgate-docs'] },
);
