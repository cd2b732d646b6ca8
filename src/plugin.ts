import type { FastifyInstance, FastifyReply, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { objectErrorCodes, type SourceErrorCodes } from './errors.js';
import { attachment, type Presentation } from './http/headers.js';
import { checkHeaderOptions, checkOptions } from './plugin-options.js';
import { catalogueErrorHandler } from './plugins/error-handler.js';
import { sweepIdleConnectionsWhileClosing } from './plugins/idle-sweep.js';
import { ReadSharing, type SharingSettings } from './read-sharing.js';
import { registerObjectRoutes } from './routes/objects.js';
import type { ObjectRouteSpec } from './routes/table.js';
import { sendObject } from './send-object.js';
import type { ServePolicy } from './serve-object.js';
import {
  loadSettings,
  type ParallelSettings,
  type RetrySettings,
  type TimeoutSettings,
} from './settings.js';
import type { Source } from './sources/source.js';
import { scopeIfObserved } from './stream/events.js';

/** Timeouts of serving an object; connecting is the source's own setting. */
export type ServeTimeouts = Pick<TimeoutSettings, 'firstByteMs' | 'idleMs' | 'totalMs'>;

/**
 * `Partial`, and each field may also be given as `undefined` (it keeps its default), so that
 * `{ firstByteMs: process.env.X ? Number(process.env.X) : undefined }` compiles under
 * `exactOptionalPropertyTypes` as well.
 */
export type Defaulted<T> = { [K in keyof T]?: T[K] | undefined };

export interface StreamgateOptions {
  /**
   * The sources by name, as `reply.sendObject` and route entries refer to them. The plugin
   * owns them: it closes them when the app closes, each once however many registrations or
   * names it was given.
   */
  sources: ReadonlyMap<string, Source> | Readonly<Record<string, Source>>;
  /** Route-table entries to register as the service does (their 4xx answers included). */
  routes?: readonly ObjectRouteSpec[] | undefined;
  /** Defaults: those of the service (`FIRST_BYTE_TIMEOUT_MS`, `IDLE_TIMEOUT_MS`, …). */
  timeouts?: Defaulted<ServeTimeouts> | undefined;
  /** Defaults: those of the service (`RETRY_ATTEMPTS`, `RESUME_ATTEMPTS`, `RETRY_BACKOFF_MS`). */
  retry?: Defaulted<RetrySettings> | undefined;
  /** Defaults: those of the service (`PARALLEL_PARTS`, `PART_SIZE`, `PARALLEL_MIN_BYTES`). */
  parallel?: Defaulted<ParallelSettings> | undefined;
  /** `cache-control` for objects that carry none of their own; default `no-cache`. */
  cacheControl?: string | undefined;
  /** How source failures are worded; default `OBJECT_NOT_FOUND`, `OBJECT_SOURCE_FAILED`, … */
  errors?: Defaulted<SourceErrorCodes> | undefined;
  /** Runs before each download of the route-table routes is admitted (a concurrency cap). */
  admit?: onRequestHookHandler | undefined;
  /**
   * Defaults: those of the service: concurrent reads of objects up to `COALESCE_MAX_BYTES`
   * shared, no cache (docs/coalescing.md).
   */
  sharing?:
    | {
        coalesceMaxBytes?: number | undefined;
        cache?: Defaulted<SharingSettings['cache']> | undefined;
      }
    | undefined;
}

/** How one `reply.sendObject` call presents its object; every field is optional. */
export interface SendObjectOptions {
  /** A fixed content type; otherwise the source's. */
  contentType?: string | undefined;
  /** When neither the call nor the source names one; default `application/octet-stream`. */
  defaultContentType?: string | undefined;
  /** `cache-control` when the object has none of its own; default the plugin's. */
  cacheControl?: string | undefined;
  /** Offer the object as a download under this filename (`content-disposition: attachment`). */
  download?: string | undefined;
  /** How source failures are worded for this call, over the plugin's wording. */
  errors?: Defaulted<SourceErrorCodes> | undefined;
}

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Streams the object `key` of the named source as the answer to this request: Range,
     * conditional requests and HEAD are answered, a body that breaks is resumed, and a source
     * failure is answered with `{"detail": …}` (404, 502, 504). Return its promise from the
     * handler; it resolves once the answer has been sent.
     */
    sendObject(source: string, key: string, options?: SendObjectOptions): Promise<void>;
  }
}

const serviceDefaults = loadSettings({});

/** The serve policy from timeouts, retries and parallel parts, each defaulting to the service's. */
export function servePolicy(
  timeouts: Partial<ServeTimeouts> = {},
  retry: Partial<RetrySettings> = {},
  parallel: Partial<ParallelSettings> = {},
): ServePolicy {
  const time = { ...serviceDefaults.timeouts, ...given(timeouts) };
  const tries = { ...serviceDefaults.retry, ...given(retry) };
  return {
    open: { attempts: tries.attempts, backoffMs: tries.backoffMs, firstByteMs: time.firstByteMs },
    resume: { attempts: tries.resumeAttempts, backoffMs: tries.backoffMs },
    body: { idleMs: time.idleMs, totalMs: time.totalMs },
    parallel: { ...serviceDefaults.parallel, ...given(parallel) },
  };
}

/**
 * The options actually given: `{ idleMs: undefined }` type-checks (optional properties), and
 * spread over the defaults it would replace one with undefined.
 */
function given<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

function readSharing(
  sharing: StreamgateOptions['sharing'] = {},
  sources: ReadonlyMap<string, Source>,
): ReadSharing | undefined {
  const names = new Map([...sources].map(([name, source]) => [source, name]));
  const settings: SharingSettings = {
    coalesceMaxBytes: sharing.coalesceMaxBytes ?? serviceDefaults.coalesceMaxBytes,
    cache: { ...serviceDefaults.cache, ...given(sharing.cache ?? {}) },
  };
  return ReadSharing.for(settings, names);
}

function sourceMap(sources: StreamgateOptions['sources']): ReadonlyMap<string, Source> {
  return sources instanceof Map ? sources : new Map(Object.entries(sources));
}

const closings = new WeakMap<Source, Promise<void>>();

/**
 * Closes a source the first time it is asked: one source may be given to several registrations
 * (or under several names), and a source of a team's own need not take a second close.
 */
function closeOnce(source: Source): Promise<void> {
  let closing = closings.get(source);
  if (closing === undefined) {
    closing = source.close();
    closings.set(source, closing);
  }
  return closing;
}

async function streamgatePlugin(app: FastifyInstance, options: StreamgateOptions): Promise<void> {
  checkOptions(options);
  const sources = sourceMap(options.sources);
  const policy: ServePolicy = {
    ...servePolicy(options.timeouts, options.retry, options.parallel),
    sharing: readSharing(options.sharing, sources),
  };
  const cacheControl = options.cacheControl ?? serviceDefaults.cacheControl;
  const errors: SourceErrorCodes = { ...objectErrorCodes, ...given(options.errors ?? {}) };
  app.addHook('onClose', async () => {
    await Promise.all([...sources.values()].map(closeOnce));
  });
  sweepIdleConnectionsWhileClosing(app);

  app.decorateReply(
    'sendObject',
    async function (this: FastifyReply, name: string, key: string, call: SendObjectOptions = {}) {
      const source = sources.get(name);
      if (source === undefined) throw new Error(`reply.sendObject: no source named ${name}`);
      checkHeaderOptions('sendObject', call);
      const presentation: Presentation = {
        contentType: call.contentType,
        defaultContentType: call.defaultContentType ?? 'application/octet-stream',
        cacheControl: call.cacheControl ?? cacheControl,
        contentDisposition: call.download === undefined ? undefined : attachment(call.download),
      };
      const target = {
        source,
        key,
        presentation,
        errors: call.errors === undefined ? errors : { ...errors, ...given(call.errors) },
        // Never the raw URL: it carries ids and, signed, its signature.
        scope:
          this.request.observed ??
          scopeIfObserved(this.request.routeOptions.url ?? 'unrouted', name),
      };
      await sendObject(this.request, this, target, policy);
    },
  );

  const { routes, admit } = options;
  if (routes !== undefined) {
    // A scope of their own: the catalogue answers their 422/405/503 without taking over the
    // error handler of the app the plugin is registered in.
    await app.register(async (scope) => {
      scope.setErrorHandler(catalogueErrorHandler);
      registerObjectRoutes(scope, { routes, sources, policy, cacheControl, admit });
    });
  }
}

/**
 * streamgate as a Fastify plugin: `app.register(streamgate, { sources })` adds
 * `reply.sendObject(source, key, options)` to every route of the app, and registers the given
 * route-table entries. It sets no error handler on the app: source failures are answered by
 * `sendObject` itself.
 */
export const streamgate = fp(streamgatePlugin, { fastify: '5.x', name: 'streamgate' });
