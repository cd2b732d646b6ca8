import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { loggedUrl, REDACTED_PATHS } from './ops/access-log.js';
import { requestIdOf } from './ops/request-id.js';
import { docsPlugin } from './plugins/docs.js';
import { errorHandlerPlugin } from './plugins/error-handler.js';
import { observabilityPlugin } from './plugins/observability.js';
import { requestGuardsPlugin } from './plugins/request-guards.js';
import { streamLimit } from './plugins/stream-limit.js';
import { healthRoutesPlugin } from './routes/health.js';
import { objectRoutesPlugin } from './routes/objects.js';
import { objectRoutes } from './routes/table.js';
import type { ServePolicy } from './serve-object.js';
import type { Settings } from './settings.js';
import { answerClientError, answerConnect, answerFrameworkError } from './socket-errors.js';
import { createSources, type SourceClients } from './sources/index.js';

function servePolicy({ timeouts, retry }: Settings): ServePolicy {
  return {
    open: {
      attempts: retry.attempts,
      backoffMs: retry.backoffMs,
      firstByteMs: timeouts.firstByteMs,
    },
    resume: { attempts: retry.resumeAttempts, backoffMs: retry.backoffMs },
    body: { idleMs: timeouts.idleMs, totalMs: timeouts.totalMs },
  };
}

export interface AppOptions {
  /** Where the logs go instead of stdout (tests read them). */
  logStream?: NodeJS.WritableStream;
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
        req: (request: { method?: string; url?: string }) => ({
          method: request.method,
          url: typeof request.url === 'string' ? loggedUrl(request.url) : undefined,
        }),
      },
      ...(options.logStream === undefined ? {} : { stream: options.logStream }),
    },
    // One access-log line per request instead of Fastify's two (plugins/observability).
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
    }),
    genReqId: requestIdOf,
    requestIdHeader: false,
    routerOptions: { maxParamLength: 64 },
    // Answered by the request guards instead, in the service's JSON shape.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  app.server.on('connect', answerConnect);
  const sources = createSources(settings, clients);
  app.addHook('onClose', async () => {
    await Promise.all([...sources.values()].map((source) => source.close()));
  });

  app.register(errorHandlerPlugin);
  app.register(docsPlugin);
  app.register(observabilityPlugin);
  app.register(requestGuardsPlugin, { maxUrlLength: settings.maxUrlLength });
  app.register(healthRoutesPlugin, { sources, timeoutMs: settings.timeouts.firstByteMs });
  app.register(objectRoutesPlugin, {
    routes: objectRoutes(settings),
    sources,
    policy: servePolicy(settings),
    cacheControl: settings.cacheControl,
    admit: streamLimit(settings.maxConcurrentStreams),
  });
  return app;
}
