import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

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
 * OpenAPI 3 description of every route at /openapi.json, browsable at /docs. Registered on the
 * root instance before any route, so that swagger's onRoute hook sees them all. The tasks routes
 * name the access methods; the others are open (`security: []`).
 */
export function registerDocs(app: FastifyInstance): void {
  app.register(swagger, {
    openapi: {
      info: {
        title: 'streamgate',
        description: 'Streams objects from S3-compatible storage and HTTP upstreams.',
        version: '0.1.0',
      },
      components: { securitySchemes },
    },
    transform: ({ schema, url }) => ({
      schema: { ...schema, security: url.startsWith('/tasks/') ? TASK_SECURITY : [] },
      url,
    }),
  });
  app.register(swaggerUi, { routePrefix: '/docs' });
  app.register(async (instance) => {
    instance.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });
}
