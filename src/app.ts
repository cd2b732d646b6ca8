import Fastify, { type FastifyInstance } from 'fastify';
import { serializeRequest } from './auth/log-safety.js';
import { streamgate } from './plugin.js';
import { accessPlugin } from './plugins/access.js';
import { corsPlugin } from './plugins/cors.js';
import { docsPlugin } from './plugins/docs.js';
import { errorHandlerPlugin } from './plugins/error-handler.js';
import { requestGuardsPlugin } from './plugins/request-guards.js';
import { streamLimit } from './plugins/stream-limit.js';
import { healthRoutesPlugin } from './routes/health.js';
import { objectRoutes } from './routes/table.js';
import type { Settings } from './settings.js';
import { answerClientError, answerConnect, answerFrameworkError } from './socket-errors.js';
import { createSources, type SourceClients } from './sources/index.js';

/**
 * Builds the app without listening; `main.ts` listens, tests use it in-process. Plugins declare
 * their names and dependencies, so registering them out of order fails at start-up.
 */
export function buildApp(
  settings: Settings,
  clients: SourceClients = {},
  options: { logStream?: { write(line: string): void } } = {},
): FastifyInstance {
  const app = Fastify({
    logger: {
      level: settings.logLevel,
      serializers: { req: serializeRequest },
      ...(options.logStream && { stream: options.logStream }),
    },
    routerOptions: { maxParamLength: 64 },
    // Answered by the request guards instead, in the service's JSON shape.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  app.server.on('connect', answerConnect);
  const sources = createSources(settings, clients);

  app.register(errorHandlerPlugin);
  app.register(requestGuardsPlugin, { maxUrlLength: settings.maxUrlLength });
  // CORS first, so that a preflight is answered without credentials.
  app.register(corsPlugin, { origins: settings.access.corsOrigins });
  app.register(accessPlugin, settings.access);
  app.register(docsPlugin);
  app.register(healthRoutesPlugin, { sources, timeoutMs: settings.timeouts.firstByteMs });
  // The service is the library's plugin over its sources and route table. After the docs, so
  // that the OpenAPI document lists its routes; the plugin closes the sources with the app.
  app.register(streamgate, {
    sources,
    routes: objectRoutes(settings),
    timeouts: settings.timeouts,
    retry: settings.retry,
    cacheControl: settings.cacheControl,
    admit: streamLimit(settings.maxConcurrentStreams),
    sharing: { coalesceMaxBytes: settings.coalesceMaxBytes, cache: settings.cache },
  });
  return app;
}
