import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from '../errors.js';
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

const swaggerOptions: FastifyDynamicSwaggerOptions = {
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
};

/** The docs app's answer headers that are not the connection's own. */
const NOT_PASSED_ON = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date']);
/** What a browser's request for the UI's files asks that the answer depends on. */
const PASSED_ON = [
  'accept',
  'range',
  'if-range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
];

/**
 * OpenAPI 3 description of every route at /openapi.json, browsable at /docs, built the first
 * time either is asked for. @fastify/swagger, its UI and what they load (yaml, @fastify/static,
 * glob) are about 3 MiB of every process at rest, for pages an operator opens now and then; so
 * they live in a second Fastify instance of their own, loaded on that first request and closed
 * with the app. This plugin records every route of the app as it is added (it is registered
 * before any route) and adds them, without their handlers, to that instance, whose swagger
 * describes them as if it were the app. Routes document their answers with
 * `config.swaggerTransform` (routes/openapi.ts), which Fastify's serializer never sees. The
 * tasks routes name the access methods; the others are open (`security: []`).
 *
 * The UI's files are the docs instance's answers (`inject`), streamed on with their validators
 * and ranges: the app's hooks still give them a request id and its headers.
 */
export const docsPlugin = fp(
  async (app: FastifyInstance) => {
    const routes: RouteOptions[] = [];
    app.addHook('onRoute', (route) => {
      // Hidden routes are not described; this plugin's own would clash with the UI's.
      if (route.schema?.hide !== true) routes.push(route);
    });
    let docs: Promise<FastifyInstance> | undefined;
    const docsApp = () => {
      // A build that failed is tried again by the next request, not remembered.
      docs ??= buildDocsApp(routes, app.log.child({ component: 'docs' })).catch(
        (error: unknown) => {
          docs = undefined;
          throw error;
        },
      );
      return docs;
    };
    app.addHook('onClose', async () => {
      await (await docs?.catch(() => undefined))?.close();
    });

    app.get('/openapi.json', { schema: { hide: true } }, async () => (await docsApp()).swagger());
    const passOn = async (request: FastifyRequest, reply: FastifyReply) => {
      // The UI's own paths only: the docs app would resolve `/docs/../tasks/1/image`.
      const path = new URL(request.url, 'http://docs').pathname;
      if (path !== '/docs' && !path.startsWith('/docs/')) return reply.callNotFound();
      const headers: Record<string, string> = {};
      for (const name of PASSED_ON) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      // GET for a HEAD too, for the GET's headers (the docs app answers a HEAD's with a length
      // of 0); its body is then not read.
      const answer = await (await docsApp()).inject({
        method: 'GET',
        url: request.url,
        headers,
        payloadAsStream: true,
      });
      const body = answer.stream();
      // The docs app's response (for a UI file, a file being read) ends with its body, however
      // that ends: sent, not sent, or cut by a client that left.
      body.once('close', () => answer.raw.res.destroy());
      const status = answer.statusCode;
      if (status >= 400) {
        body.destroy();
        if (status === 404) return reply.callNotFound();
        // The app's error handler words them, as for any answer of the app.
        const range = answer.headers['content-range'];
        if (status === 416 && typeof range === 'string') {
          throw new GatewayError('RANGE_NOT_SATISFIABLE', { headers: { 'content-range': range } });
        }
        throw new DocsAppError(status);
      }
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !NOT_PASSED_ON.has(name)) reply.header(name, value);
      }
      reply.code(status);
      // Nothing to send is no payload: an empty one would get a content type (the redirects).
      if (request.method === 'HEAD' || status === 304 || answer.headers['content-length'] === '0') {
        body.destroy();
        return reply.send();
      }
      return reply.send(body);
    };
    // HEAD declared, not Fastify's own HEAD route, which would send a length of 0 for no body.
    for (const url of ['/docs', '/docs/*']) {
      app.route({ method: ['GET', 'HEAD'], url, schema: { hide: true }, handler: passOn });
    }
  },
  { name: 'streamgate-docs' },
);

/**
 * A Fastify instance with swagger and its UI at /docs, describing `routes`, logging to `log`.
 * The routes are only described: neither validated nor serialized, so nothing is compiled.
 */
async function buildDocsApp(
  routes: readonly RouteOptions[],
  log: FastifyBaseLogger,
): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([
    import('@fastify/swagger'),
    import('@fastify/swagger-ui'),
  ]);
  const docs = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
  });
  try {
    await docs.register(swagger, swaggerOptions);
    await docs.register(swaggerUi, { routePrefix: '/docs' });
    for (const { method, url, schema, config } of routes) {
      // The app's HEAD routes were recorded too, as swagger would have seen them.
      docs.route({
        method,
        url,
        schema,
        config,
        exposeHeadRoute: false,
        validatorCompiler: () => () => true,
        serializerCompiler: () => JSON.stringify,
        handler: notServedHere,
      });
    }
    await docs.ready();
    return docs;
  } catch (error) {
    await docs.close().catch(() => undefined);
    throw error;
  }
}

/** A failure the docs app answered, with its status, for the app's error handler. */
class DocsAppError extends Error {
  constructor(readonly statusCode: number) {
    super(`the docs app answered ${statusCode}`);
    this.name = 'DocsAppError';
  }
}

/** A route of the app is described by the docs app, never served by it (`/docs/../tasks/1`). */
function notServedHere(_request: FastifyRequest, reply: FastifyReply): void {
  reply.callNotFound();
}
