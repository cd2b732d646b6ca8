import { bytesErrorCodes, imageErrorCodes, type SourceErrorCodes } from '../errors.js';
import type { Settings } from '../settings.js';

/** A path parameter: a non-negative decimal integer, at most `max` when given. */
export interface ParamSpec {
  name: string;
  max?: number | undefined;
}

/**
 * One route that streams an object: everything that differs between routes is here, so that a
 * new route, or a route over another bucket, is one more entry.
 */
export interface ObjectRouteSpec {
  /** OpenAPI operation id. */
  operationId: string;
  summary: string;
  /** Fastify path, `:name` for each parameter. */
  url: string;
  params: readonly ParamSpec[];
  /** Name of the source in the app's registry (see sources/index.ts). */
  source: string;
  /** The object's key in the source, `{name}` replaced by each parameter. */
  key: string;
  /** Fixed content type; undefined to relay the source's. */
  contentType: string | undefined;
  /** When neither the route nor the source names one. */
  defaultContentType: string;
  /** Offered with `?download=1`, `{name}` replaced by each parameter. */
  filename: string;
  /** How each source failure is worded to the client. */
  errors: SourceErrorCodes;
}

/** The routes of the service: those of the original, over the storage and the upstream. */
export function objectRoutes(settings: Settings): ObjectRouteSpec[] {
  return [
    {
      operationId: 'getTaskImage',
      summary: 'Download the image of a task',
      url: '/tasks/:task_id/image',
      params: [{ name: 'task_id' }],
      source: 'storage',
      key: settings.imageKeyTemplate,
      contentType: 'image/jpeg',
      defaultContentType: 'image/jpeg',
      filename: '{task_id}.jpg',
      errors: imageErrorCodes,
    },
    {
      operationId: 'getTaskBytes',
      summary: 'Stream bytes from the upstream service',
      url: '/tasks/:task_id/bytes/:size',
      params: [{ name: 'task_id' }, { name: 'size', max: settings.maxStreamBytes }],
      source: 'upstream',
      key: settings.upstreamPathTemplate,
      contentType: undefined,
      defaultContentType: 'application/octet-stream',
      filename: '{task_id}-{size}.bin',
      errors: bytesErrorCodes,
    },
  ];
}
