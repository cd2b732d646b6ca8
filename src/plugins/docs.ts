import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * OpenAPI 3 description of every route at /openapi.json, browsable at /docs. Registered on the
 * root instance before any route, so that swagger's onRoute hook sees them all.
 */
export function registerDocs(app: FastifyInstance): void {
  app.register(swagger, {
    openapi: {
      info: {
        title: 'streamgate',
        description: 'Streams objects from S3-compatible storage and HTTP upstreams.',
        version: '0.1.0',
      },
    },
  });
  app.register(swaggerUi, { routePrefix: '/docs' });
  app.register(async (instance) => {
    instance.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });
}
