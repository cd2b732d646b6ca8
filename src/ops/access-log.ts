/**
 * What the logs may say about a request: never a credential. Headers are redacted by pino
 * wherever a logged object carries them; signed URLs lose their signature parameters; a
 * source's expected failure is logged without the stack that says only where it was noticed.
 */
import { stdSerializers } from 'pino';
import { SourceError } from '../errors.js';

/** What the log keeps of an error: pino's fields, which Fastify's types ask of a serializer. */
interface LoggedError {
  [field: string]: unknown;
  type: string;
  message: string;
  stack: string;
}

/**
 * pino's `err` serializer, but a SourceError (a 404, a refused connection, a timeout: the
 * source's answer, not a bug) keeps of its stack only the frame that made it, and the network
 * error beneath it only its code and message: about 400 bytes instead of 1 KB of frames. A
 * cause without a code (a team's source that threw) keeps its whole stack.
 */
export function loggedError(error: Error): LoggedError {
  if (!(error instanceof SourceError)) return stdSerializers.err(error);
  const { cause } = error;
  const code = cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined;
  return {
    type: error.name,
    message: error.message,
    stack: (error.stack ?? '').split('\n', 2).join('\n'),
    failure: error.failure,
    ...(cause instanceof Error
      ? { cause: code === undefined ? loggedError(cause) : { code, message: cause.message } }
      : {}),
  };
}

/** Query parameters that carry a credential or a signature (presigned S3 and HMAC links). */
const SECRET_PARAMS = new Set([
  'sig',
  'signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
]);

/** pino `redact` paths: request headers that carry credentials, in any object pino logs. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers["x-api-key"]',
  'headers.cookie',
  'res.headers["set-cookie"]',
];

function isSecret(pair: string): boolean {
  const end = pair.indexOf('=');
  const name = end === -1 ? pair : pair.slice(0, end);
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // An undecodable name is logged as it came.
  }
  // `?sig` too: of a query that starts with a second `?`, URLSearchParams reads `sig` and
  // Fastify `?sig`; the gateway refuses such a signature, but its value may still be valid.
  return SECRET_PARAMS.has(decoded.replace(/^\?+/, '').toLowerCase());
}

/** The URL as logged: path and query, without the parameters that carry credentials. */
export function loggedUrl(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const kept = url
    .slice(query + 1)
    .split('&')
    .filter((pair) => !isSecret(pair));
  const path = url.slice(0, query);
  return kept.length === 0 ? path : `${path}?${kept.join('&')}`;
}

/** The one line logged when a request is over. */
export interface AccessLogLine {
  method: string;
  route: string;
  url: string;
  taskId: string | undefined;
  status: number;
  bytes: number;
  durationMs: number;
  outcome: string;
  attempts: number;
  resumes: number;
  client: string;
}
