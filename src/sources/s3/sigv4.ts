import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 for requests whose path is sent exactly as signed (S3's rules: the
 * path is URI-encoded once by the caller and never normalised). Reference:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */

/** What signs a request; `sessionToken` comes with temporary credentials. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  /** When temporary credentials stop working; undefined for long-lived keys. */
  readonly expiration?: Date | undefined;
}

export interface SignableRequest {
  method: string;
  /** The path as sent on the wire: already URI-encoded, each segment once. */
  path: string;
  /** Decoded query parameters, in any order. */
  query?: ReadonlyArray<readonly [string, string]> | undefined;
  /** Headers to sign, names in lower case, `host` included. */
  headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body, or UNSIGNED_PAYLOAD. */
  payloadHash: string;
}

/** The headers a signature adds to the request. */
export interface SignatureHeaders {
  authorization: string;
  'x-amz-date': string;
  'x-amz-security-token'?: string;
}

/** S3 accepts an unsigned body over a signed request; GET and HEAD have none anyway. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const RFC3986_EXTRA = /[!'()*]/g;

function escapeExtra(character: string): string {
  return `%${character.charCodeAt(0).toString(16).toUpperCase()}`;
}

/** RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - . _ ~`. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(RFC3986_EXTRA, escapeExtra);
}

/** An S3 key as a URI path: each segment encoded, `/` kept, nothing normalised (`..` stays). */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(uriEncode).join('/');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function hmac(key: Buffer | string, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

/** `20150830T123600Z` from a date. */
export function amzDate(now: Date): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

const SPACES = /\s+/g;

function canonicalValue(value: string): string {
  return value.trim().replace(SPACES, ' ');
}

function canonicalQuery(query: SignableRequest['query']): string {
  if (query === undefined || query.length === 0) return '';
  return query
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** The canonical request and the signed-header list, as AWS defines them. */
export function canonicalRequest(
  request: SignableRequest,
  extraHeaders: Readonly<Record<string, string>> = {},
): { text: string; signedHeaders: string } {
  const headers: Record<string, string> = { ...request.headers, ...extraHeaders };
  const names = Object.keys(headers).sort();
  let canonicalHeaders = '';
  for (const name of names) canonicalHeaders += `${name}:${canonicalValue(headers[name] ?? '')}\n`;
  const signedHeaders = names.join(';');
  const text = `${request.method}\n${request.path}\n${canonicalQuery(request.query)}\n${canonicalHeaders}\n${signedHeaders}\n${request.payloadHash}`;
  return { text, signedHeaders };
}

/**
 * Signs for one region and service. The signing key depends only on the secret and the day, so
 * it is derived once a day (per secret) instead of four HMACs per request.
 */
export class SigV4Signer {
  readonly #region: string;
  readonly #service: string;
  readonly #scopeSuffix: string;
  #cached: { secret: string; day: string; key: Buffer } | undefined;

  constructor(region: string, service: string) {
    this.#region = region;
    this.#service = service;
    this.#scopeSuffix = `/${region}/${service}/aws4_request`;
  }

  /** The headers that authenticate `request`, signed at `now` with `credentials`. */
  sign(request: SignableRequest, credentials: Credentials, now: Date): SignatureHeaders {
    const date = amzDate(now);
    const day = date.slice(0, 8);
    const token = credentials.sessionToken;
    const signed: Record<string, string> = { 'x-amz-date': date };
    if (token !== undefined) signed['x-amz-security-token'] = token;
    const { text, signedHeaders } = canonicalRequest(request, signed);
    const scope = day + this.#scopeSuffix;
    const stringToSign = `${ALGORITHM}\n${date}\n${scope}\n${sha256Hex(text)}`;
    const signature = createHmac('sha256', this.#signingKey(credentials.secretAccessKey, day))
      .update(stringToSign, 'utf8')
      .digest('hex');
    const authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    const headers: SignatureHeaders = { authorization, 'x-amz-date': date };
    if (token !== undefined) headers['x-amz-security-token'] = token;
    return headers;
  }

  #signingKey(secret: string, day: string): Buffer {
    const cached = this.#cached;
    if (cached !== undefined && cached.day === day && cached.secret === secret) return cached.key;
    const key = hmac(
      hmac(hmac(hmac(`AWS4${secret}`, day), this.#region), this.#service),
      'aws4_request',
    );
    this.#cached = { secret, day, key };
    return key;
  }
}
