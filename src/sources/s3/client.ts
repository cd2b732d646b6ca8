import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';
import { SourceError } from '../../errors.js';
import type { S3Settings } from '../../settings.js';
import { dumpBody, readErrorBody, send } from '../http-response.js';
import { Pool } from '../undici.js';
import type { CachedCredentials } from './credentials.js';
import { errorCode, s3Failure } from './errors.js';
import { encodeKeyPath, SigV4Signer, UNSIGNED_PAYLOAD, uriEncode } from './sigv4.js';

/** Enough for any S3 error document's `<Code>`; the rest of the body is not read. */
const ERROR_BODY_LIMIT = 4 * 1024;

/** Where one bucket's requests go, decided once. */
export interface BucketAddress {
  /** `scheme://host[:port]` of the connection. */
  origin: string;
  /** The Host header, exactly as signed. */
  host: string;
  /** Path of the bucket itself; keys go below it after a `/`. */
  bucketPath: string;
}

/** Bucket names that can be a DNS label (virtual-hosted style); dots break TLS wildcards. */
function virtualHostable(bucket: string, protocol: string): boolean {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) return false;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return false;
  return protocol === 'http:' || !bucket.includes('.');
}

/**
 * Virtual-hosted style (`bucket.s3.region.amazonaws.com/key`) unless path style is forced, the
 * endpoint is an IP address (no name goes before it: the URL would drop it) or the bucket name
 * cannot be a host name; path style is `endpoint/bucket/key`.
 */
export function bucketAddress(
  settings: Pick<S3Settings, 'endpoint' | 'region' | 'forcePathStyle'>,
  bucket: string,
): BucketAddress {
  const url = new URL(settings.endpoint ?? `https://s3.${settings.region}.amazonaws.com`);
  const prefix = url.pathname.replace(/\/+$/, '');
  const addressed = isIP(url.hostname.replace(/^\[(.*)\]$/, '$1')) !== 0;
  if (!settings.forcePathStyle && !addressed && virtualHostable(bucket, url.protocol)) {
    url.hostname = `${bucket}.${url.hostname}`;
    return { origin: url.origin, host: url.host, bucketPath: prefix || '/' };
  }
  return { origin: url.origin, host: url.host, bucketPath: `${prefix}/${uriEncode(bucket)}` };
}

/** A key as a URI path; one that is not well-formed Unicode (a lone surrogate) names no object. */
function keyPath(key: string): string {
  try {
    return encodeKeyPath(key);
  } catch (error) {
    throw new SourceError('not-found', 'key is not well-formed Unicode', { cause: error });
  }
}

/** The keep-alive pool of one S3 endpoint; timeouts of first byte and idle are the gateway's. */
export function createS3Pool(settings: S3Settings, origin: string, connectMs: number): Dispatcher {
  return new Pool(origin, {
    connections: settings.maxSockets,
    connect: { timeout: connectMs, rejectUnauthorized: settings.tlsVerify },
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

export interface S3RequestHeaders {
  range?: string;
  'if-match'?: string;
  'if-none-match'?: string;
}

/** Signed GET and HEAD requests for one bucket over one undici dispatcher. */
export class S3BucketClient {
  readonly #address: BucketAddress;
  readonly #keyPrefix: string;
  readonly #dispatcher: Dispatcher;
  readonly #credentials: CachedCredentials;
  readonly #signer: SigV4Signer;
  #closing: Promise<void> | undefined;

  constructor(options: {
    address: BucketAddress;
    region: string;
    dispatcher: Dispatcher;
    credentials: CachedCredentials;
  }) {
    this.#address = options.address;
    const { bucketPath } = options.address;
    this.#keyPrefix = bucketPath.endsWith('/') ? bucketPath : `${bucketPath}/`;
    this.#dispatcher = options.dispatcher;
    this.#credentials = options.credentials;
    this.#signer = new SigV4Signer(options.region, 's3');
  }

  /**
   * Sends a signed request for `key`, or for the bucket itself when `key` is undefined, and
   * resolves with a 2xx answer whose body the caller owns, or a 304 (its empty body already
   * released) when `extra` asked with If-None-Match; any other answer is read (a few KiB at
   * most), released and thrown as a SourceError.
   */
  async request(
    method: 'GET' | 'HEAD',
    key: string | undefined,
    extra: S3RequestHeaders,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const path = key === undefined ? this.#address.bucketPath : this.#keyPrefix + keyPath(key);
    const headers: Record<string, string> = {
      ...extra,
      host: this.#address.host,
      'x-amz-content-sha256': UNSIGNED_PAYLOAD,
    };
    const credentials = await this.#credentials.get();
    const signature = this.#signer.sign(
      { method, path, headers, payloadHash: UNSIGNED_PAYLOAD },
      credentials,
      new Date(),
    );
    const response = await send(this.#dispatcher, {
      origin: this.#address.origin,
      path,
      method,
      headers: { ...headers, ...signature },
      signal,
    });
    const status = response.statusCode;
    if (status >= 200 && status < 300) return response;
    if (status === 304 && extra['if-none-match'] !== undefined) {
      await dumpBody(response);
      return response;
    }
    if (method === 'HEAD') {
      await dumpBody(response);
      throw s3Failure(status, undefined);
    }
    throw s3Failure(status, errorCode(await readErrorBody(response, ERROR_BODY_LIMIT)));
  }

  /** Closes the dispatcher once: undici rejects a second close, this resolves it with the first. */
  close(): Promise<void> {
    this.#credentials.close();
    this.#closing ??= this.#dispatcher.close();
    return this.#closing;
  }
}
