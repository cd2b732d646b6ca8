import cluster from 'node:cluster';
import { type Channel, channel } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Registry } from 'prom-client';
import { metricsGuard } from '../auth/metrics-guard.js';
import { GatewayError } from '../errors.js';
import { type AccessLogLine, loggedUrl } from '../ops/access-log.js';
import { processMetrics, StreamMetrics } from '../ops/metrics.js';
import { clusterMetrics, METRICS_CONTENT_TYPE, reportToPrimary } from '../ops/metrics-cluster.js';
import { ObservedRequest } from '../ops/observed-request.js';
import { REQUEST_ID_HEADER } from '../ops/request-id.js';
import { RequestTracer } from '../ops/tracing.js';
import { packageInfo } from '../package-info.js';
import { type CacheEvent, cacheChannel } from '../read-sharing.js';
import { detail, documented } from '../routes/openapi.js';
import { type CoalesceEvent, coalesceChannel } from '../stream/coalesce.js';
import { type StreamScope, sourceAttempt, streamEnd, streamStart } from '../stream/events.js';
import { type PartFetchedMessage, partsChannel } from '../stream/part-events.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * For answers given before routing, which run no hooks: observes the request and sets the
     * headers every answer carries.
     */
    observeUnrouted(request: FastifyRequest, reply: FastifyReply): void;
  }
  interface FastifyRequest {
    /** This request as metrics, logs and traces see it; the scope of its stream events. */
    observed: ObservedRequest | null;
  }
  interface FastifyContextConfig {
    /** The route's label in metrics and logs when its methods have different operation ids. */
    route?: string;
    /** The source a route streams from, as named in the route table. */
    source?: string;
  }
}

/** The label of a request that matched no route. */
const UNMATCHED = 'unmatched';
/** The status logged and counted when the client left before a status line was sent. */
const CLIENT_CLOSED = 499;
/** The same when shutdown cut the connection instead: nginx's "closed without a response". */
const CUT_BEFORE_ANSWER = 444;
/** The outcome of a request whose connection the grace period's end cut. */
const CUT_AT_SHUTDOWN = 'cut_at_shutdown';
/** Longest wait, once the server has closed, for the requests it cut to be over. */
const CUT_REQUESTS_END_MS = 1_000;

function routeOf(request: FastifyRequest) {
  const { schema, config, url } = request.routeOptions;
  const label = config?.route ?? schema?.operationId ?? url ?? UNMATCHED;
  return { label, pattern: url, source: config?.source ?? '' };
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function taskIdOf(request: FastifyRequest): string | undefined {
  const params = request.params;
  if (typeof params !== 'object' || params === null || !('task_id' in params)) return undefined;
  return String(params.task_id);
}

/**
 * Published by the service (src/server.ts) just before it cuts the connections still open at
 * the end of the grace period: the requests on them are recorded as cut, not as left.
 */
export const connectionsCut = channel('streamgate:connections-cut');

/** Whether the client ended or broke the connection, rather than the server closing it. */
function clientLeft(socket: Socket): boolean {
  return socket.readableEnded || socket.errored !== null;
}

/** Body bytes of an answer that was not streamed: the JSON detail, or none. */
function answeredBytes(request: FastifyRequest, reply: FastifyReply): number {
  if (request.method === 'HEAD' || !reply.raw.writableFinished) return 0;
  if (reply.statusCode === 204 || reply.statusCode === 304) return 0;
  return Number(reply.getHeader('content-length')) || 0;
}

export interface ObservabilityOptions {
  /** `GET /metrics` and every metric; default on. */
  metrics?: boolean;
  /** When set, `/metrics` asks for `Authorization: Bearer <token>`. */
  metricsToken?: string | undefined;
}

/**
 * Sees inside every request: request ids and `nosniff` on every answer, Prometheus metrics at
 * `GET /metrics` (summed over every worker under a cluster), one access-log line per request
 * and a span per request and per source attempt. Streams are observed through their
 * diagnostics events, never per chunk. Registered first, so that its hooks see every request.
 */
export const observabilityPlugin = fp(
  async (app: FastifyInstance, options: ObservabilityOptions) => {
    // Without metrics (`METRICS=false`) ids, logs and spans stay; nothing updates prom-client.
    const metrics = options.metrics === false ? undefined : new StreamMetrics();
    // Tells this app's requests from another app's in the same process.
    const owner = {};
    const tracer = new RequestTracer(packageInfo.version);
    const registries = metrics === undefined ? [] : [processMetrics(), metrics.registry];
    if (cluster.isWorker && metrics !== undefined) reportToPrimary(registries);

    const ours = (scope: StreamScope) =>
      scope instanceof ObservedRequest && scope.owner === owner ? scope : undefined;
    const unsubscribe = [
      streamStart.subscribe((message) => {
        const observed = ours(message.scope);
        if (observed === undefined) return;
        metrics?.streamStarted();
        observed.streamStarted();
      }),
      streamEnd.subscribe((message) => {
        const observed = ours(message.scope);
        if (observed === undefined) return;
        metrics?.streamEnded(message);
        observed.streamEnded(message);
      }),
      sourceAttempt.subscribe((message) => {
        const observed = ours(message.scope);
        if (observed === undefined) return;
        observed.attempts++;
        metrics?.sourceAttempted(message);
        tracer.recordAttempt(observed.span, message);
      }),
      // Once per part, shared read or cache lookup: never per chunk.
      listen(partsChannel, (message: PartFetchedMessage) => metrics?.partFetched(message.source)),
      listen(coalesceChannel, (message: CoalesceEvent) => {
        if (message.role === 'follower') metrics?.readJoined(message.source);
      }),
      listen(cacheChannel, (message: CacheEvent) =>
        metrics?.cacheLookedUp(message.source, message.result),
      ),
    ];
    // Requests not over yet, with their connections, so that those the shutdown cuts are told
    // apart from those whose client left (judged before the cut, which every Node version
    // closes in its own way) and are recorded before unsubscribing.
    const open = new Map<ObservedRequest, Socket>();
    const cut = new Set<ObservedRequest>();
    unsubscribe.push(
      listen(connectionsCut, () => {
        for (const [observed, socket] of open) if (!clientLeft(socket)) cut.add(observed);
      }),
    );
    app.addHook('onClose', async () => {
      // The server has closed once it destroyed their sockets; their responses close on a
      // later turn of the event loop, and their bodies report their end after that.
      const deadline = Date.now() + CUT_REQUESTS_END_MS;
      while (open.size > 0 && Date.now() < deadline) await sleep(10);
      // A body that never reported its end: its line says what is known without it.
      for (const observed of open.keys()) observed.onOver(observed);
      for (const stop of unsubscribe) stop();
    });

    // Read once: the line is not even built when it would not be written.
    const accessLogged = ['trace', 'debug', 'info'].includes(app.log.level);
    const endOf = (reply: FastifyReply, observed: ObservedRequest) => {
      const finished = reply.raw.writableFinished;
      const outcome = observed.stream?.outcome ?? (finished ? 'complete' : 'client_aborted');
      const wasCut = cut.delete(observed) && !finished;
      const unanswered = wasCut ? CUT_BEFORE_ANSWER : CLIENT_CLOSED;
      const status = reply.raw.headersSent ? reply.statusCode : unanswered;
      return {
        status,
        outcome: wasCut && outcome === 'client_aborted' ? CUT_AT_SHUTDOWN : outcome,
      };
    };
    const finish = (request: FastifyRequest, reply: FastifyReply, observed: ObservedRequest) => {
      if (!open.delete(observed)) return;
      const stream = observed.stream;
      const { status, outcome } = endOf(reply, observed);
      const bytes = stream?.bytesToClient ?? answeredBytes(request, reply);
      const durationMs = reply.elapsedTime;
      metrics?.requestFinished({
        route: observed.route,
        method: request.method,
        status,
        durationSeconds: durationMs / 1000,
        bytesToClient: bytes,
      });
      tracer.endRequest(observed.span, status, outcome);
      if (!accessLogged) return;
      const line: AccessLogLine = {
        method: request.method,
        route: observed.route,
        url: loggedUrl(request.url),
        taskId: taskIdOf(request),
        status,
        bytes,
        durationMs: Math.round(durationMs * 10) / 10,
        outcome,
        attempts: observed.attempts,
        resumes: stream?.resumes ?? 0,
        client: observed.client,
      };
      request.log.info(line, 'request completed');
    };

    const observe = (request: FastifyRequest, reply: FastifyReply) => {
      // Unrouted answers come with a bare request, without this plugin's decoration.
      if (request.observed) return;
      const route = routeOf(request);
      const client = request.ip;
      const span = tracer.startRequest({
        method: request.method,
        path: pathOf(request.url),
        route: route.pattern,
        headers: request.headers,
        client,
      });
      const over = () => finish(request, reply, observed);
      const observed = new ObservedRequest(owner, route.label, route.source, span, client, over);
      request.observed = observed;
      open.set(observed, request.raw.socket);
      reply.raw.once('close', () => observed.responseClosed());
    };

    const markAnswer = (request: FastifyRequest, reply: FastifyReply) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      reply.header('x-content-type-options', 'nosniff');
    };

    app.decorateRequest('observed', null);
    app.decorate('observeUnrouted', (request: FastifyRequest, reply: FastifyReply) => {
      observe(request, reply);
      markAnswer(request, reply);
    });
    app.addHook('onRequest', (request, reply, done) => {
      observe(request, reply);
      // The access line comes when the request is over; at debug, a line when it arrives.
      request.log.debug({ req: request }, 'incoming request');
      done();
    });
    app.addHook('onSend', (request, reply, payload, done) => {
      markAnswer(request, reply);
      done(null, payload);
    });

    if (metrics !== undefined) {
      app.get(
        '/metrics',
        {
          schema: { operationId: 'getMetrics', summary: 'Prometheus metrics of every worker' },
          // `Authorization: Bearer <METRICS_TOKEN>` when a token is set.
          preHandler: metricsGuard(options.metricsToken),
          config: {
            swaggerTransform: documented({
              tags: ['operations'],
              description: 'The Prometheus text format, summed over every worker of a cluster.',
              response: {
                200: {
                  description: 'The metrics.',
                  content: { 'text/plain': { schema: { type: 'string' } } },
                },
                401: detail('NOT_AUTHENTICATED', '`METRICS_TOKEN` is set and another token came'),
                503: detail(
                  'METRICS_UNAVAILABLE',
                  'a worker or the primary did not answer in time',
                ),
              },
            }),
          },
        },
        async (_request, reply) => {
          let text: string;
          try {
            text = cluster.isWorker
              ? await clusterMetrics()
              : await Registry.merge(registries).metrics();
          } catch (error) {
            throw new GatewayError('METRICS_UNAVAILABLE', { cause: error });
          }
          return reply.type(METRICS_CONTENT_TYPE).send(text);
        },
      );
    }
  },
  { name: 'streamgate-observability', dependencies: ['streamgate-errors', 'streamgate-docs'] },
);

/** Subscribes to a channel whose messages have one shape; returns the unsubscribe. */
function listen<T>(channel: Channel, listener: (message: T) => void): () => void {
  // Published by this package only, always with a T.
  const untyped = (message: unknown) => listener(message as T);
  channel.subscribe(untyped);
  return () => {
    channel.unsubscribe(untyped);
  };
}
