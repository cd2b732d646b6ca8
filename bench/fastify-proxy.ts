/**
 * The bare Node proxy with Fastify in place of `node:http`: one route that relays
 * GET/HEAD /{bucket}/{key}, no plugins, no logger. What the framework streamgate is built on
 * costs by itself, in requests, time and memory. Configured as bench/bare-proxy.ts is.
 */
import Fastify from 'fastify';
import { runWorkers } from './cluster.js';
import { RELAYED, signedOrigin } from './signed-origin.js';

runWorkers(() => {
  const fetchObject = signedOrigin();
  const app = Fastify();
  app.get('/*', async (request, reply) => {
    const answer = await fetchObject(
      request.method,
      request.url.split('?')[0] as string,
      request.headers.range,
    );
    for (const name of RELAYED) {
      const value = answer.headers[name];
      if (value !== undefined) reply.header(name, value);
    }
    return reply.code(answer.statusCode).send(answer.body);
  });
  app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
});
