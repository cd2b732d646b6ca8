import Fastify, { type FastifyInstance } from 'fastify';
import { serializeRequest } from './auth/log-safety.js';
import { GatewayError } from './errors.js';
import { accessPlugin } from './plugins/access.js';
import { answerClientError, answerConnect, answerFrameworkError } from './plugins/client-errors.js';
import { corsPlugin } from './plugins/cors.js';
import { registerDocs } from './plugins/docs.js';
import { installErrorHandling, rejectOtherMethods } from './plugins/errors.js';
import { limitConcurrentStreams } from './plugins/stream-limit.js';
import { healthRoutes } from './routes/health.js';
import { taskRoutes } from './routes/tasks.js';
import type { ServePolicy } from './serve-object.js';
import type { Settings } from './settings.js';
import { createSources, type SourceClients } from './sources/index.js';

function servePolicy(settings: Settings): ServePolicy {
  const { timeouts, retry } = settings;
  return {
    open: {
      attempts: retry.attempts,
      backoffMs: retry.backoffMs,
      firstByteMs: timeouts.firstByteMs,
    },
    body: {
      idleMs: timeouts.idleMs,
      totalMs: timeouts.totalMs,
      resumeAttempts: retry.resumeAttempts,
      backoffMs: retry.backoffMs,
    },
  };
}

/** Builds the app without listening; `main.ts` listens, tests use it in-process. */
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
    // Answered below instead, in the service's JSON shape.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  app.server.on('connect', answerConnect);
  const sources = createSources(settings, clients);
  app.addHook('onClose', async () => {
    await Promise.all([sources.images.close(), sources.upstream.close()]);
  });

  installErrorHandling(app);
  // A request that reaches a connection still busy when shutdown begins; Fastify has already
  // set `connection: close` on its reply.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request) => {
    if (closing) throw new GatewayError('SHUTTING_DOWN');
    // Node parses HTTP/0.9 and 2.0 request lines too; this server speaks HTTP/1.x only.
    if (request.raw.httpVersionMajor !== 1) throw new GatewayError('BAD_REQUEST');
    if (request.url.length > settings.maxUrlLength) throw new GatewayError('URL_TOO_LONG');
  });
  app.register(corsPlugin, { origins: settings.access.corsOrigins });
  app.register(accessPlugin, settings.access);
  registerDocs(app);
  app.register(async (operations) =>
    healthRoutes(operations, sources, settings.timeouts.firstByteMs),
  );
  app.register(async (streams) => {
    limitConcurrentStreams(streams, settings.maxConcurrentStreams);
    taskRoutes(streams, settings, sources, servePolicy(settings));
  });
  app.register(async (others) => {
    rejectOtherMethods(others, '/tasks/:task_id/image', ['GET', 'HEAD']);
    rejectOtherMethods(others, '/tasks/:task_id/bytes/:size', ['GET', 'HEAD']);
  });
  return app;
}
