import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

const packageJson: { version: string; description: string } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
);

/** Any one of these opens the tasks routes once access control is configured. */
const TASK_SECURITY: Record<string, string[]>[] = [
  { apiKey: [] },
  { bearer: [] },
  { signedUrl: [] },
];

const securitySchemes = {
  apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key.' },
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key, or a JWT whose `tasks` claim lists the task ids (or is "*").',
  },
  signedUrl: {
    type: 'apiKey',
    in: 'query',
    name: 'sig',
    description: 'A signed URL: `exp`, `kid`, optionally `etag`, and `sig` (`npm run sign-url`).',
  },
} as const;

/**
 * OpenAPI 3 description of every route at /openapi.json, browsable at /docs. Registered before
 * any route, so that swagger's onRoute hook sees them all. The tasks routes name the access
 * methods; the others are open (`security: []`).
 */
export const docsPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'streamgate',
          description: packageJson.description,
          version: packageJson.version,
        },
        components: { securitySchemes },
      },
      transform: ({ schema, url }) => ({
        schema: { ...schema, security: url.startsWith('/tasks/') ? TASK_SECURITY : [] },
        url,
      }),
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'streamgate-docs' },
);
