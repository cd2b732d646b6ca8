/**
 * Signed URLs: a path and its query, an expiry and a key id, authenticated by HMAC-SHA256.
 *
 * The signature covers a canonical form of the URL, so that any change a client or a proxy
 * could make that alters what is served (another task or size, `download` added or dropped, the
 * expiry or the pinned ETag changed) breaks it, while harmless re-encodings (`%31` for `1`) do
 * not. Canonical form, one field per line:
 *
 *     streamgate-url-v1
 *     <path: each segment percent-decoded, then encoded as RFC 3986 unreserved characters>
 *     <every query parameter but `sig`, decoded, re-encoded the same way, sorted, joined by &>
 *
 * The method is not signed: one URL serves GET and HEAD, and Range or If-* headers stay free,
 * so players can seek.
 */
import { createHmac } from 'node:crypto';
import type { Check } from './check.js';
import { safeEqual } from './constant-time.js';

/** One key of `SIGNED_URL_KEYS`; `kid` travels in the URL, `secret` never does. */
export interface SigningKey {
  kid: string;
  secret: string;
}

export const DEFAULT_TTL_S = 300;
/** A longer-lived URL is refused when minted and when presented. */
export const MAX_TTL_S = 7 * 86_400;

const SIGNED_PARAMS = ['exp', 'kid', 'sig', 'etag'] as const;
const VERSION = 'streamgate-url-v1';
const STRONG_ETAG = /^"[\x21\x23-\x7e\x80-\xff]*"$/;

/** RFC 3986 percent-encoding: everything but unreserved characters. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function canonicalPath(path: string): string | undefined {
  try {
    return path
      .split('/')
      .map((segment) => encode(decodeURIComponent(segment)))
      .join('/');
  } catch {
    return undefined;
  }
}

function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .filter(([name]) => name !== 'sig')
    .map(([name, value]) => `${encode(name)}=${encode(value)}`)
    .sort()
    .join('&');
}

function signature(secret: string, path: string, pairs: [string, string][]): string {
  const text = `${VERSION}\n${path}\n${canonicalQuery(pairs)}`;
  return createHmac('sha256', secret).update(text, 'utf8').digest('base64url');
}

/**
 * True when the query starts with a second `?` (`/x??a=1`): URLSearchParams drops that `?` and
 * reads `a`, Fastify's query parser reads `?a`, so no one reading of it can be said to be signed.
 */
export function hasAmbiguousQuery(url: string): boolean {
  const mark = url.indexOf('?');
  return mark !== -1 && url[mark + 1] === '?';
}

function splitUrl(url: string): { path: string; pairs: [string, string][] } {
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  const query = mark === -1 ? '' : url.slice(mark + 1);
  return { path, pairs: [...new URLSearchParams(query)] };
}

export interface SignOptions {
  /** Lifetime in seconds, 1 to MAX_TTL_S; DEFAULT_TTL_S when absent. */
  ttlSeconds?: number | undefined;
  /** A strong ETag (`"…"`): the URL then serves that version only and answers 412 after. */
  etag?: string | undefined;
  /** The clock, in milliseconds since the epoch. */
  now?: number | undefined;
}

/** A URL that cannot be signed as asked; the message names the problem. */
export class SignUrlError extends Error {
  override readonly name = 'SignUrlError';
}

/**
 * Signs `target` (a path, optionally with a query such as `download=1`) with `key` and returns
 * the path with its query, `exp`, `kid`, `etag` when pinned, and `sig` last.
 */
export function signUrl(target: string, key: SigningKey, options: SignOptions = {}): string {
  const { ttlSeconds = DEFAULT_TTL_S, etag, now = Date.now() } = options;
  if (!target.startsWith('/')) throw new SignUrlError('the target must be a path starting with /');
  if (hasAmbiguousQuery(target)) throw new SignUrlError('the query must not start with another ?');
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_S) {
    throw new SignUrlError(`the lifetime must be 1 to ${MAX_TTL_S} seconds`);
  }
  if (etag !== undefined && !STRONG_ETAG.test(etag)) {
    throw new SignUrlError('the ETag must be a strong entity tag in double quotes');
  }
  const { path: rawPath, pairs } = splitUrl(target);
  if (pairs.some(([name]) => (SIGNED_PARAMS as readonly string[]).includes(name))) {
    throw new SignUrlError(`the target must not carry ${SIGNED_PARAMS.join(', ')}`);
  }
  const path = canonicalPath(rawPath);
  if (path === undefined) throw new SignUrlError('the path is not valid percent-encoding');
  const exp = Math.floor(now / 1000) + ttlSeconds;
  const signed: [string, string][] = [...pairs, ['exp', String(exp)], ['kid', key.kid]];
  if (etag !== undefined) signed.push(['etag', etag]);
  return `${path}?${canonicalQuery(signed)}&sig=${signature(key.secret, path, signed)}`;
}

/** Why a signed URL was refused; for the log, never for the client. */
export type SignedUrlFailure =
  | 'signed-url-malformed'
  | 'signed-url-unknown-kid'
  | 'signed-url-bad-signature'
  | 'signed-url-expired'
  | 'signed-url-expiry-too-far';

/** A valid signed URL may pin the ETag the object must still have. */
export type SignedUrlCheck = Check<{ etag: string | undefined }, SignedUrlFailure>;

function single(pairs: [string, string][], name: string): string | undefined | null {
  const values = pairs.filter(([key]) => key === name);
  if (values.length > 1) return null;
  return values[0]?.[1];
}

/**
 * Checks the signed URL `url` (a request's raw path and query) against every key in `keys`,
 * the signature first, then the expiry against `now` (milliseconds since the epoch).
 */
export function verifySignedUrl(
  url: string,
  keys: readonly SigningKey[],
  now: number,
): SignedUrlCheck {
  if (hasAmbiguousQuery(url)) return { ok: false, failure: 'signed-url-malformed' };
  const { path: rawPath, pairs } = splitUrl(url);
  const [exp, kid, sig, etag] = SIGNED_PARAMS.map((name) => single(pairs, name));
  const path = canonicalPath(rawPath);
  if (!sig || !kid || !exp || etag === null || path === undefined || !/^[0-9]{1,12}$/.test(exp)) {
    return { ok: false, failure: 'signed-url-malformed' };
  }
  const key = keys.find((candidate) => candidate.kid === kid);
  if (key === undefined) return { ok: false, failure: 'signed-url-unknown-kid' };
  if (!safeEqual(sig, signature(key.secret, path, pairs))) {
    return { ok: false, failure: 'signed-url-bad-signature' };
  }
  const expiresAt = Number(exp) * 1000;
  if (expiresAt <= now) return { ok: false, failure: 'signed-url-expired' };
  if (expiresAt > now + MAX_TTL_S * 1000)
    return { ok: false, failure: 'signed-url-expiry-too-far' };
  if (etag !== undefined && !STRONG_ETAG.test(etag)) {
    return { ok: false, failure: 'signed-url-malformed' };
  }
  return { ok: true, etag };
}
