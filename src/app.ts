import Fastify, { type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import { loggedError, loggedUrl, REDACTED_PATHS } from './ops/access-log.js';
import { requestIdOf } from './ops/request-id.js';
import { streamgate } from './plugin.js';
import { accessPlugin } from './plugins/access.js';
import { corsPlugin } from './plugins/cors.js';
import { docsPlugin } from './plugins/docs.js';
import { errorHandlerPlugin } from './plugins/error-handler.js';
import { observabilityPlugin } from './plugins/observability.js';
import { requestGuardsPlugin } from './plugins/request-guards.js';
import { streamLimit } from './plugins/stream-limit.js';
import { healthRoutesPlugin } from './routes/health.js';
import { objectRoutes } from './routes/table.js';
import type { Settings } from './settings.js';
import { answerClientError, answerConnect, answerFrameworkError } from './socket-errors.js';
import { createSources, type SourceClients } from './sources/index.js';

export interface AppOptions {
  /** Where the logs go instead of stdout (tests read them). */
  logStream?: { write(line: string): void };
}

/**
 * Builds the app without listening; `main.ts` listens, tests use it in-process. Plugins declare
 * their names and dependencies, so registering them out of order fails at start-up.
 */
export function buildApp(
  settings: Settings,
  clients: SourceClients = {},
  options: AppOptions = {},
): FastifyInstance {
  const app = Fastify({
    logger: {
      level: settings.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      // Any line that logs a request (`{req}`) shows its URL without signature parameters.
      serializers: {
        err: loggedError,
        req: (request: Partial<FastifyRequest>) => ({
          method: request.method,
          url: typeof request.url === 'string' ? loggedUrl(request.url) : undefined,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort,
        }),
      },
      ...(options.logStream === undefined ? {} : { stream: options.logStream }),
    },
    // One access-log line per request instead of Fastify's two (plugins/observability).
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
    }),
    // Behind a load balancer: the client its X-Forwarded-For names, in the logs and the span.
    trustProxy: settings.trustProxy.length === 0 ? false : [...settings.trustProxy],
    genReqId: requestIdOf,
    requestIdHeader: false,
    // A path parameter as long as the URL may be reaches validation (a 422), not find-my-way's
    // 414 past `maxParamLength`; a longer URL is the request guards' 414.
    routerOptions: { maxParamLength: settings.maxUrlLength },
    // Node would answer an HTTP/1.1 request without Host itself, with an empty 400 and none of
    // the service's headers; the request guards refuse it instead.
    http: { requireHostHeader: false },
    // Answered by the request guards instead, in the service's JSON shape.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  app.server.on('connect', answerConnect);
  const sources = createSources(settings, clients);

  app.register(errorHandlerPlugin);
  app.register(docsPlugin);
  // Before every other hook, so that even a refused request has its id, log line and metrics.
  app.register(observabilityPlugin, {
    metrics: settings.metrics,
    metricsToken: settings.access.metricsToken,
  });
  app.register(requestGuardsPlugin, { maxUrlLength: settings.maxUrlLength });
  // CORS before access control, so that a preflight is answered without credentials.
  app.register(corsPlugin, { origins: settings.access.corsOrigins });
  app.register(accessPlugin, settings.access);
  app.register(healthRoutesPlugin, { sources, timeoutMs: settings.timeouts.firstByteMs });
  // The service is the library's plugin over its sources and route table. After the docs, so
  // that the OpenAPI document lists its routes; the plugin closes the sources with the app.
  app.register(streamgate, {
    sources,
    routes: objectRoutes(settings),
    timeouts: settings.timeouts,
    retry: settings.retry,
    parallel: settings.parallel,
    cacheControl: settings.cacheControl,
    admit: streamLimit(settings.maxConcurrentStreams),
    sharing: { coalesceMaxBytes: settings.coalesceMaxBytes, cache: settings.cache },
  });
  return app;
}
