import { SourceError } from '../errors.js';

/** Socket-level failures after which asking again is safe. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);

function codeOf(error: unknown): string | undefined {
  let current: unknown = error;
  // Node and undici put the errno on the error or on its cause.
  for (let depth = 0; depth < 3 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/** Maps a failure that carries no HTTP status (network, timeout, abort) to a SourceError. */
export function networkFailure(error: unknown): SourceError {
  if (error instanceof SourceError) return error;
  const name = (error as Error | undefined)?.name;
  if (name === 'AbortError') return new SourceError('aborted', 'request aborted', { cause: error });
  const code = codeOf(error);
  const retryable = code !== undefined && RETRYABLE_CODES.has(code);
  // The S3 SDK renames ECONNRESET, EPIPE and ETIMEDOUT errors to TimeoutError: the errno decides.
  if ((name === 'TimeoutError' && !retryable) || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new SourceError('timeout', 'source did not answer in time', { cause: error });
  }
  return new SourceError('unavailable', `source unreachable (${code ?? name ?? 'error'})`, {
    cause: error,
    retryable,
  });
}
