import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { catalogue, clientErrorCode, type ErrorCode } from './errors.js';

/**
 * Answers given before a request reaches a route (the socket could not be parsed, or the URL
 * not decoded), in the service's JSON shape `{"detail": …}` instead of Node's empty body or
 * Fastify's own shape. Those written on the socket never became a request: they carry no
 * `x-request-id`, and are neither logged per request nor counted in the metrics.
 */

/** Node's parser errors that have a more precise status than 400, as Node itself maps them. */
const codeOfParserError: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'PAYLOAD_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};

function writeJsonAndClose(socket: Duplex, code: ErrorCode, extra = ''): void {
  const { status, detail } = catalogue[code];
  const body = JSON.stringify({ detail });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      // As on every answer Fastify sends (plugins/observability).
      'x-content-type-options: nosniff\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/**
 * Fastify's `clientErrorHandler`: a request Node cannot parse (bad request line, header too
 * large, CR or LF inside a header, unknown method).
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already under way on this socket must not get a second status line in its body.
  const inFlight: ServerResponse | undefined = Reflect.get(socket, '_httpMessage');
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  writeJsonAndClose(socket, codeOfParserError[error.code ?? ''] ?? 'BAD_REQUEST');
}

/** `CONNECT` is no method of this service; Node would drop the connection without a word. */
export function answerConnect(_request: IncomingMessage, socket: Duplex): void {
  writeJsonAndClose(socket, 'METHOD_NOT_ALLOWED', 'allow: GET, HEAD\r\n');
}

/**
 * Fastify's `frameworkErrors`: a URL that cannot be decoded (`%c0%ae`) or a path parameter
 * longer than `maxParamLength`, answered before routing.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 400;
  const { status: answered, detail } = catalogue[clientErrorCode(status)];
  // Fastify runs no hook for these answers.
  reply.server.observeUnrouted(request, reply);
  reply.code(answered).send({ detail });
}
