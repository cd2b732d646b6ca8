import type { FastifyInstance } from 'fastify';
import { bytesErrorCodes, imageErrorCodes, ValidationError } from '../errors.js';
import { attachment } from '../http/headers.js';
import { type ServePolicy, serveObject } from '../serve-object.js';
import type { Settings } from '../settings.js';
import type { Sources } from '../sources/index.js';

const decimal = { type: 'string', pattern: '^[0-9]{1,16}$' } as const;

const querystring = {
  type: 'object',
  properties: { download: { type: 'string', enum: ['0', '1', 'true', 'false'] } },
} as const;

interface TaskRequest {
  Params: { task_id: string; size?: string };
  Querystring: { download?: string };
}

function wantsDownload(query: { download?: string }): boolean {
  return query.download === '1' || query.download === 'true';
}

function render(template: string, name: string, value: number): string {
  return template.replaceAll(`{${name}}`, String(value));
}

/** `GET`/`HEAD` of both routes of the original service (spec §2). */
export function taskRoutes(
  app: FastifyInstance,
  settings: Settings,
  sources: Sources,
  policy: ServePolicy,
): void {
  app.route<TaskRequest>({
    method: ['GET', 'HEAD'],
    url: '/tasks/:task_id/image',
    schema: {
      summary: 'Download the image of a task',
      params: { type: 'object', properties: { task_id: decimal }, required: ['task_id'] },
      querystring,
    },
    handler: async (request, reply) => {
      const taskId = Number(request.params.task_id);
      await serveObject(
        request,
        reply,
        {
          source: sources.images,
          key: render(settings.imageKeyTemplate, 'task_id', taskId),
          presentation: {
            contentType: 'image/jpeg',
            defaultContentType: 'image/jpeg',
            cacheControl: settings.cacheControl,
            contentDisposition: wantsDownload(request.query)
              ? attachment(`${taskId}.jpg`)
              : undefined,
          },
          errors: imageErrorCodes,
        },
        policy,
      );
      return reply;
    },
  });

  app.route<TaskRequest>({
    method: ['GET', 'HEAD'],
    url: '/tasks/:task_id/bytes/:size',
    schema: {
      summary: 'Stream bytes from the upstream service',
      params: {
        type: 'object',
        properties: { task_id: decimal, size: decimal },
        required: ['task_id', 'size'],
      },
      querystring,
    },
    handler: async (request, reply) => {
      const taskId = Number(request.params.task_id);
      const size = Number(request.params.size);
      if (size > settings.maxStreamBytes) {
        throw new ValidationError([
          {
            loc: ['path', 'size'],
            msg: `Input should be less than or equal to ${settings.maxStreamBytes}`,
            type: 'less_than_equal',
          },
        ]);
      }
      await serveObject(
        request,
        reply,
        {
          source: sources.upstream,
          key: render(settings.upstreamPathTemplate, 'size', size),
          presentation: {
            contentType: undefined,
            defaultContentType: 'application/octet-stream',
            cacheControl: settings.cacheControl,
            contentDisposition: wantsDownload(request.query)
              ? attachment(`${taskId}-${size}.bin`)
              : undefined,
          },
          errors: bytesErrorCodes,
        },
        policy,
      );
      return reply;
    },
  });
}
