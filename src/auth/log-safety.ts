import type { FastifyRequest } from 'fastify';

/** The request URL as logged: the value of a `sig` query parameter is replaced. */
export function redactSignature(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const params = new URLSearchParams(url.slice(mark + 1));
  if (!params.has('sig')) return url;
  const kept = [...params].map(([name, value]) =>
    name === 'sig' ? 'sig=[redacted]' : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`,
  );
  return `${url.slice(0, mark)}?${kept.join('&')}`;
}

/**
 * Fastify's request serializer with the signature of a signed URL kept out of the log. Headers
 * are not logged, so neither are API keys nor tokens.
 */
export function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactSignature(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
