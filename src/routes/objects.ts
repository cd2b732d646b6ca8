import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { GatewayError, ValidationError } from '../errors.js';
import { attachment, type Presentation } from '../http/headers.js';
import { sendObject } from '../send-object.js';
import type { ServePolicy } from '../serve-object.js';
import type { Source } from '../sources/source.js';
import { scopeIfObserved } from '../stream/events.js';
import { objectOperation } from './openapi.js';
import type { ObjectRouteSpec, ParamSpec } from './table.js';
import { compileTemplate } from './template.js';

export interface ObjectRoutesOptions {
  routes: readonly ObjectRouteSpec[];
  sources: ReadonlyMap<string, Source>;
  policy: ServePolicy;
  /** `cache-control` for objects that carry none of their own. */
  cacheControl: string;
  /** Runs before each download is admitted (the concurrency cap). */
  admit?: onRequestHookHandler | undefined;
}

interface ObjectRequest {
  Params: Record<string, string>;
  Querystring: { download?: string };
}

const decimal = { type: 'string', pattern: '^[0-9]{1,16}$' } as const;

const querystring = {
  type: 'object',
  properties: { download: { type: 'string', enum: ['0', '1', 'true', 'false'] } },
} as const;

const SERVED_METHODS = ['GET', 'HEAD'] as const;
const OTHER_METHODS = ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/**
 * Parameters as numbers; one above its maximum is a FastAPI-shaped 422. Without a maximum of its
 * own, a parameter stops at 2^53 - 1: beyond it two values would round to one number, one key.
 */
function parseParams(specs: readonly ParamSpec[], raw: Record<string, string>) {
  const values: Record<string, number> = {};
  for (const { name, max = Number.MAX_SAFE_INTEGER } of specs) {
    const value = Number(raw[name]);
    if (value > max) {
      throw new ValidationError([
        {
          loc: ['path', name],
          msg: `Input should be less than or equal to ${max}`,
          type: 'less_than_equal',
        },
      ]);
    }
    values[name] = value;
  }
  return values;
}

function wantsDownload(query: { download?: string }): boolean {
  return query.download === '1' || query.download === 'true';
}

function registerRoute(app: FastifyInstance, spec: ObjectRouteSpec, options: ObjectRoutesOptions) {
  const source = options.sources.get(spec.source);
  if (source === undefined) throw new Error(`route ${spec.url}: no source named ${spec.source}`);
  const names = spec.params.map((param) => param.name);
  const key = compileTemplate(spec.key, names);
  const filename = compileTemplate(spec.filename, names);
  const presentation = (download: string | undefined): Presentation => ({
    contentType: spec.contentType,
    defaultContentType: spec.defaultContentType,
    cacheControl: options.cacheControl,
    contentDisposition: download === undefined ? undefined : attachment(download),
  });
  const plain = presentation(undefined);

  const handler = async (request: FastifyRequest<ObjectRequest>, reply: FastifyReply) => {
    const values = parseParams(spec.params, request.params);
    const target = {
      source,
      key: key(values),
      presentation: wantsDownload(request.query) ? presentation(filename(values)) : plain,
      errors: spec.errors,
      scope: request.observed ?? scopeIfObserved(spec.operationId, spec.source),
    };
    return sendObject(request, reply, target, options.policy);
  };

  // One route per method, so that each has its own operation in the OpenAPI document.
  for (const method of SERVED_METHODS) {
    const docs = objectOperation(spec, method);
    app.route<ObjectRequest>({
      method,
      url: spec.url,
      exposeHeadRoute: false,
      schema: {
        operationId: docs.operationId,
        summary: docs.summary,
        params: {
          type: 'object',
          properties: Object.fromEntries(names.map((name) => [name, decimal])),
          required: names,
        },
        querystring,
      },
      config: {
        route: spec.operationId,
        source: spec.source,
        swaggerTransform: docs.swaggerTransform,
        // @fastify/swagger leaves HEAD routes out unless asked.
        swagger: { exposeHeadRoute: true },
      },
      onRequest: options.admit,
      handler,
    });
  }

  // Fastify alone answers 404 for a known path with another method.
  const allow = SERVED_METHODS.join(', ');
  app.route({
    method: OTHER_METHODS,
    url: spec.url,
    schema: { hide: true },
    handler: async () => {
      throw new GatewayError('METHOD_NOT_ALLOWED', { headers: { allow } });
    },
  });
}

/**
 * Registers the routes that stream objects, one per entry of the route table. Their 422 and 405
 * answers are thrown for the catalogue's error handler, which the streamgate plugin sets on
 * their scope (src/plugin.ts).
 */
export function registerObjectRoutes(app: FastifyInstance, options: ObjectRoutesOptions): void {
  for (const spec of options.routes) registerRoute(app, spec, options);
}
