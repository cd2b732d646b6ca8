import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { packageInfo } from '../package-info.js';

/**
 * OpenAPI 3 description of every route at /openapi.json, browsable at /docs. Registered before
 * any route, so that swagger's onRoute hook sees them all. Routes document their answers with
 * `config.swaggerTransform` (routes/openapi.ts), which Fastify's serializer never sees.
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
        // Public until an access-control scheme is configured.
        security: [],
        servers: [{ url: 'http://127.0.0.1:8000', description: 'The defaults of HOST and PORT' }],
        tags: [
          { name: 'objects', description: 'Objects streamed from storage and the upstream.' },
          { name: 'operations', description: 'Health, readiness and metrics.' },
        ],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'streamgate-docs' },
);
