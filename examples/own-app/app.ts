import Fastify, { type FastifyInstance } from 'fastify';
import streamgate, { type Source } from 'streamgate';

export interface CameraAppOptions {
  /** Where the cameras' snapshots live, keyed `cameras/<id>/latest.jpg`. */
  snapshots: Source;
  /** The bearer token this app's clients must present. */
  apiToken: string;
}

/**
 * A team's own Fastify app: its own auth hook and its own route, which streams a camera's
 * latest snapshot with streamgate's `reply.sendObject` (Range, 304, HEAD and resume included).
 */
export function buildCameraApp({ snapshots, apiToken }: CameraAppOptions): FastifyInstance {
  const app = Fastify();

  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.authorization !== `Bearer ${apiToken}`) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ detail: 'Not authenticated' });
    }
  });

  app.register(streamgate, { sources: { snapshots } });

  app.get<{ Params: { id: string } }>(
    '/cameras/:id/snapshot',
    {
      schema: {
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' } },
        },
      },
    },
    async (request, reply) =>
      reply.sendObject('snapshots', `cameras/${request.params.id}/latest.jpg`, {
        contentType: 'image/jpeg',
        cacheControl: 'private, max-age=5',
      }),
  );

  return app;
}
