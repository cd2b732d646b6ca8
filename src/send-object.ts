import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from './errors.js';
import { replyGatewayError } from './reply-error.js';
import {
  type ObjectAnswer,
  type ObjectTarget,
  type ServePolicy,
  serveObject,
} from './serve-object.js';
import { reportSent } from './stream/events.js';

/**
 * Serves one object on `reply`: the one path behind the service's routes and
 * `reply.sendObject`. The source's requests are aborted when the client goes away; a source
 * failure is answered here with the catalogue's `{"detail": …}`, so it needs no error handler
 * and answers the same inside a team's app as in the service. Anything else (a bug) is thrown.
 */
export async function sendObject(
  request: FastifyRequest,
  reply: FastifyReply,
  target: ObjectTarget,
  policy: ServePolicy,
): Promise<FastifyReply> {
  // Gone while an earlier asynchronous hook ran (its 'close' has fired): nothing to open.
  if (reply.raw.closed) return reply;
  const controller = new AbortController();
  let clientLeft = false;
  reply.raw.once('close', () => {
    if (reply.raw.writableFinished) return;
    clientLeft = true;
    controller.abort();
  });
  let answer: ObjectAnswer | GatewayError;
  try {
    answer = await serveObject(request, target, policy, controller);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    answer = error;
  }
  if (clientLeft || reply.sent) {
    // Nobody is there to be told, or the handler has answered already: it did not wait for this
    // promise, which it must return. A body opened for the client is released; a failure is the
    // gateway's own abort of the source, not the source's (the access log says client_aborted).
    if (!clientLeft) reply.log.error('reply.sendObject: the reply was sent before the object');
    if (!(answer instanceof GatewayError) && answer.body && 'destroy' in answer.body) {
      answer.body.destroy();
    }
    return reply;
  }
  if (answer instanceof GatewayError) return replyGatewayError(reply, answer);
  const body = answer.body ?? noBody(reply);
  if (Buffer.isBuffer(body)) reportSent(reply.raw, target.scope, body.length);
  else if (body instanceof Readable) body.on('error', heldUntilPiped);
  // A 412 or 416 carries a JSON detail, whatever content type the handler had set for the object.
  if (body !== undefined && 'detail' in body) reply.type('application/json; charset=utf-8');
  return reply.code(answer.status).headers(answer.headers).send(body);
}

/**
 * Fastify listens to a stream payload only once its `onSend` hooks are done, and a team's app may
 * make one asynchronous: a body that fails meanwhile (its source broke, or the client left) would
 * emit 'error' with nobody listening and crash the process. Fastify still sees the error once it
 * takes the body (`finished` reports a stream that has already failed) and answers it: an error
 * status before the headers, an aborted connection after them.
 */
function heldUntilPiped(): void {}

/**
 * The payload of an answer without a body. Fastify's automatic HEAD route for a `GET` route
 * (`exposeHeadRoutes`, on by default) sets `content-length: 0` on an undefined payload but keeps
 * the headers of a stream's, so HEAD sends an empty stream to keep the GET's content-length.
 */
function noBody(reply: FastifyReply): Readable | undefined {
  return reply.request.method === 'HEAD' ? Readable.from([]) : undefined;
}
