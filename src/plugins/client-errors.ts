import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** Node's parser errors that have a more precise status than 400, as Node itself maps them. */
const statusOfCode: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

function writeJsonAndClose(socket: Duplex, status: number, extra = ''): void {
  const body = JSON.stringify({ detail: STATUS_CODES[status] ?? 'Bad Request' });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/**
 * Fastify's `clientErrorHandler`: a request Node cannot parse (bad request line, header too
 * large, CR or LF inside a header, unknown method) is answered in the service's JSON shape,
 * `{"detail": …}`, instead of Node's empty body or Fastify's own shape.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already under way on this socket must not get a second status line in its body.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  writeJsonAndClose(socket, statusOfCode[error.code ?? ''] ?? 400);
}

/** `CONNECT` is no method of this service; Node would drop the connection without a word. */
export function answerConnect(_request: IncomingMessage, socket: Duplex): void {
  writeJsonAndClose(socket, 405, 'allow: GET, HEAD\r\n');
}

/**
 * Fastify's `frameworkErrors`: a URL that cannot be decoded (`%c0%ae`) or a path parameter
 * longer than `maxParamLength`, answered before routing, in the same JSON shape.
 */
export function answerFrameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 400;
  reply.code(status).send({ detail: STATUS_CODES[status] ?? 'Bad Request' });
}
