import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { packageInfo } from '../package-info.js';
import { securityOf } from '../routes/openapi.js';

const securitySchemes = {
  apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key.' },
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key, or a JWT whose `tasks` claim lists the task ids (or is "*").',
  },
  metricsToken: {
    type: 'http',
    scheme: 'bearer',
    description: '`METRICS_TOKEN`, for `GET /metrics` only; the route is open when none is set.',
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
 * any route, so that swagger's onRoute hook sees them all. Routes document their answers with
 * `config.swaggerTransform` (routes/openapi.ts), which Fastify's serializer never sees. The tasks
 * routes name the access methods; the others are open (`security: []`).
 */
export const docsPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'streamgate',
          description: packageInfo.description,
          version: packageInfo.version,
          license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
        },
        // Relative: the gateway that serves this document, wherever it listens.
        servers: [{ url: '/', description: 'This gateway' }],
        tags: [
          { name: 'objects', description: 'Objects streamed from storage and the upstream.' },
          { name: 'operations', description: 'Health, readiness and metrics.' },
        ],
        components: { securitySchemes },
      },
      transform: ({ schema, url }) => ({
        schema: { ...schema, security: securityOf(url) },
        url,
      }),
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'streamgate-docs' },
);
