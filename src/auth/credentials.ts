import type { IncomingHttpHeaders } from 'node:http';
import { hasAmbiguousQuery } from './signed-url.js';

/**
 * Longest Authorization or x-api-key value looked at. Node refuses a whole header block above
 * 16 KiB with 431; a single credential above 8 KiB is refused the same way, before any parsing
 * or cryptography, since no key or token this service issues comes near it.
 */
export const MAX_CREDENTIAL_BYTES = 8 * 1024;

/** The one credential a request presents, or why none can be read. */
export type Presented =
  | { kind: 'signed-url' }
  | { kind: 'api-key'; value: string }
  | { kind: 'bearer'; value: string }
  | { kind: 'none' }
  | { kind: 'malformed' }
  | { kind: 'too-large' };

// RFC 6750 §2.1: the scheme is case-insensitive. The token may be any visible ASCII, not only
// a b64token: an API key may hold any of it, and a JWT is judged by its own parser.
const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/** The token of an `Authorization: Bearer <token>` value; undefined for anything else. */
export function bearerToken(authorization: string): string | undefined {
  return BEARER.exec(authorization)?.[1];
}

/**
 * A query that starts with a second `?` counts as a signature whatever follows: the signature
 * check refuses it, and no other credential is judged instead.
 */
function hasSignature(url: string): boolean {
  if (hasAmbiguousQuery(url)) return true;
  const mark = url.indexOf('?');
  return mark !== -1 && new URLSearchParams(url.slice(mark + 1)).has('sig');
}

/**
 * Picks the credential to judge, in a fixed order: a signed URL (a `sig` query parameter), then
 * `x-api-key`, then `Authorization: Bearer`. Only the first present one counts, so a request
 * cannot mix a weak credential with a strong one to confuse the check.
 */
export function presentedCredential(url: string, headers: IncomingHttpHeaders): Presented {
  if (hasSignature(url)) return { kind: 'signed-url' };
  const apiKey = headers['x-api-key'];
  if (apiKey !== undefined) {
    if (typeof apiKey !== 'string' || apiKey === '') return { kind: 'malformed' };
    if (apiKey.length > MAX_CREDENTIAL_BYTES) return { kind: 'too-large' };
    return { kind: 'api-key', value: apiKey };
  }
  const authorization = headers.authorization;
  if (authorization === undefined) return { kind: 'none' };
  if (authorization.length > MAX_CREDENTIAL_BYTES) return { kind: 'too-large' };
  const token = bearerToken(authorization);
  return token === undefined ? { kind: 'malformed' } : { kind: 'bearer', value: token };
}
