/** Settings read once from the environment into a deeply frozen, typed object. */

import { validateHeaderValue } from 'node:http';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import proxyAddr from '@fastify/proxy-addr';

import { type AccessSettings, loadAccessSettings } from './auth/settings.js';
import type { CacheSettings } from './cache/object-cache.js';
import { staysBelowBase } from './sources/upstream-path.js';

const STORAGE_BACKENDS = ['fs', 's3'] as const;
export type StorageBackend = (typeof STORAGE_BACKENDS)[number];

/** pino's levels, the names LOG_LEVEL takes. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface TimeoutSettings {
  /** TCP/TLS connect to a source. */
  readonly connectMs: number;
  /** From sending a source request to its response headers. */
  readonly firstByteMs: number;
  /** Longest silence of a source body while the client is reading. */
  readonly idleMs: number;
  /** Cap on a whole download; 0 disables it. */
  readonly totalMs: number;
}

export interface RetrySettings {
  /** Extra attempts for an idempotent source error before the first byte. */
  readonly attempts: number;
  /** Attempts to resume a body that broke after the first byte. */
  readonly resumeAttempts: number;
  /** First backoff; doubles on each attempt, capped at 2 s. */
  readonly backoffMs: number;
}

/** Large downloads in ranged parts over several connections (docs/parallel-parts.md). */
export interface ParallelSettings {
  /** Parts in flight per download; 1 turns parallel reads off. */
  readonly parts: number;
  readonly partSize: number;
  /** Bodies shorter than this use one connection. */
  readonly minBytes: number;
}

export interface S3Settings {
  readonly endpoint: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  /** Signed as `x-amz-security-token` with the static keys (temporary credentials). */
  readonly sessionToken: string | undefined;
  readonly region: string;
  readonly tlsVerify: boolean;
  readonly forcePathStyle: boolean;
  readonly maxSockets: number;
}

export interface Settings {
  readonly host: string;
  readonly port: number;
  /**
   * Proxies whose `X-Forwarded-For` names the client (addresses, CIDR ranges, `loopback`,
   * `linklocal`, `uniquelocal`); empty: the client is the socket's peer.
   */
  readonly trustProxy: readonly string[];
  readonly logLevel: LogLevel;
  readonly storageBackend: StorageBackend;
  readonly dataDir: string;
  readonly s3: S3Settings;
  readonly imageBucket: string;
  readonly imageKeyTemplate: string;
  readonly upstreamBaseUrl: string;
  readonly upstreamPathTemplate: string;
  readonly maxStreamBytes: number;
  readonly cacheControl: string;
  readonly timeouts: TimeoutSettings;
  readonly retry: RetrySettings;
  readonly parallel: ParallelSettings;
  readonly maxConcurrentStreams: number;
  readonly maxUrlLength: number;
  readonly shutdownGraceMs: number;
  /** Processes serving the port; 1 runs no cluster at all. */
  readonly workers: number;
  /** Prometheus metrics at `GET /metrics`. */
  readonly metrics: boolean;
  readonly access: AccessSettings;
  /** Largest body concurrent requests for the same object share one source read of; 0: off. */
  readonly coalesceMaxBytes: number;
  /** The per-process small-object cache; off when `maxBytes` is 0. */
  readonly cache: CacheSettings;
}

/** A setting with a bad value; its message is the one line printed at start-up. */
export class SettingsError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`invalid setting ${variable}: ${reason}`);
    this.name = 'SettingsError';
  }
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new SettingsError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new SettingsError(name, `expected a number from ${min} to ${max}, got ${raw}`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new SettingsError(name, `expected true or false, got "${raw}"`);
}

function optionalHttpUrl(env: Env, name: string): string | undefined {
  const raw = optional(env, name);
  return raw === undefined ? undefined : checkedHttpUrl(name, raw);
}

function httpUrl(env: Env, name: string, fallback: string): string {
  return checkedHttpUrl(name, optional(env, name) ?? fallback);
}

function checkedHttpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingsError(name, 'expected an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SettingsError(name, 'expected an http(s) URL');
  }
  // Requests are sent to the URL's origin and path only: a login or a query would be dropped.
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new SettingsError(name, 'expected an http(s) URL without a login, query or fragment');
  }
  return raw.replace(/\/+$/, '');
}

function template(env: Env, name: string, fallback: string, placeholder: string): string {
  const value = text(env, name, fallback);
  if (!value.includes(placeholder)) throw new SettingsError(name, `must contain ${placeholder}`);
  return value;
}

/** The upstream source asks for paths below its base URL only (sources/upstream-path.ts). */
function pathTemplate(env: Env, name: string, fallback: string, placeholder: string): string {
  const value = template(env, name, fallback, placeholder);
  if (!value.startsWith('/')) throw new SettingsError(name, 'must begin with /');
  if (!staysBelowBase(value)) {
    throw new SettingsError(name, 'must be a path without ?, #, backslashes or . and .. segments');
  }
  return value;
}

/**
 * A value sent as a response header: one Node would refuse (CR, LF, other control characters)
 * would turn every answer carrying it into a 500. Not echoed, since it may hold a line break.
 */
function headerSafeText(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  try {
    validateHeaderValue(name, value);
  } catch {
    throw new SettingsError(name, 'expected a value valid in an HTTP header');
  }
  return value;
}

/**
 * One of `values`, in any case (`INFO` is `info`): read alike by pino in a worker and by the
 * cluster primary's own log.
 */
function oneOf<T extends string>(env: Env, name: string, fallback: T, values: readonly T[]): T {
  const value = text(env, name, fallback);
  const chosen = values.find((candidate) => candidate === value.toLowerCase());
  if (chosen === undefined) {
    throw new SettingsError(name, `expected one of ${values.join(', ')}, got "${value}"`);
  }
  return chosen;
}

/**
 * Comma-separated addresses, CIDR ranges and proxy-addr's named ranges, as Fastify's
 * `trustProxy` takes them. No `true` and no hop count: trusting any peer lets every client
 * choose the address it is logged under (and Fastify fails a hop count closed).
 */
function proxyList(env: Env, name: string): string[] {
  const entries = (optional(env, name) ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) return [];
  const refused = new SettingsError(
    name,
    'expected comma-separated IP addresses or CIDR ranges (or loopback, linklocal, uniquelocal)',
  );
  // proxy-addr would read `1` as the address 0.0.0.1: each address is written out in full.
  if (!entries.every(isProxyEntry)) throw refused;
  try {
    proxyAddr.compile(entries);
  } catch {
    throw refused;
  }
  return entries;
}

const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

function isProxyEntry(entry: string): boolean {
  return NAMED_RANGES.includes(entry) || isIP(entry.split('/')[0] ?? '') !== 0;
}

type StaticKeys = Pick<S3Settings, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>;

/**
 * Static keys are both or neither, as the S3 source uses them (sources/s3/credentials.ts): one
 * alone would be ignored for the AWS default provider chain, which fails on the half pair (and
 * every request with it) or finds other credentials. A session token belongs to static keys.
 */
function staticKeys(env: Env): StaticKeys {
  const accessKeyId = optional(env, 'AWS_ACCESS_KEY_ID');
  const secretAccessKey = optional(env, 'AWS_SECRET_ACCESS_KEY');
  const sessionToken = optional(env, 'AWS_SESSION_TOKEN');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new SettingsError(
      accessKeyId === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY',
      'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY together, or neither for the AWS default provider chain',
    );
  }
  if (sessionToken !== undefined && accessKeyId === undefined) {
    throw new SettingsError(
      'AWS_SESSION_TOKEN',
      'needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (unset: the AWS default provider chain)',
    );
  }
  return { accessKeyId, secretAccessKey, sessionToken };
}

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const DAY_MS = 86_400_000;

/** Parses the environment; throws a SettingsError naming the first bad variable. */
export function loadSettings(env: Env = process.env): Settings {
  const endpoint = optionalHttpUrl(env, 'AWS_ENDPOINT_URL');
  const settings: Settings = {
    host: text(env, 'HOST', '127.0.0.1'),
    port: integer(env, 'PORT', 8000, 0, 65535),
    trustProxy: proxyList(env, 'TRUST_PROXY'),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', LOG_LEVELS),
    storageBackend: oneOf(env, 'STORAGE_BACKEND', 'fs', STORAGE_BACKENDS),
    dataDir: text(env, 'DATA_DIR', './data'),
    s3: {
      endpoint,
      ...staticKeys(env),
      region: text(env, 'AWS_REGION', 'us-east-1'),
      tlsVerify: boolean(env, 'AWS_TLS_VERIFY', true),
      forcePathStyle: boolean(env, 'S3_FORCE_PATH_STYLE', endpoint !== undefined),
      maxSockets: integer(env, 'S3_MAX_SOCKETS', 50, 1, 10_000),
    },
    imageBucket: text(env, 'S3_IMAGE_BUCKET', 'images'),
    imageKeyTemplate: template(env, 'IMAGE_KEY_TEMPLATE', 'test/{task_id}/image.jpg', '{task_id}'),
    upstreamBaseUrl: httpUrl(env, 'UPSTREAM_BASE_URL', 'http://httpbin.org'),
    upstreamPathTemplate: pathTemplate(
      env,
      'UPSTREAM_PATH_TEMPLATE',
      '/stream-bytes/{size}',
      '{size}',
    ),
    maxStreamBytes: integer(env, 'MAX_STREAM_BYTES', GIB, 0, Number.MAX_SAFE_INTEGER),
    cacheControl: headerSafeText(env, 'CACHE_CONTROL', 'no-cache'),
    timeouts: {
      connectMs: integer(env, 'CONNECT_TIMEOUT_MS', 5_000, 1, DAY_MS),
      firstByteMs: integer(env, 'FIRST_BYTE_TIMEOUT_MS', 15_000, 1, DAY_MS),
      idleMs: integer(env, 'IDLE_TIMEOUT_MS', 30_000, 1, DAY_MS),
      totalMs: integer(env, 'TOTAL_TIMEOUT_MS', 0, 0, DAY_MS),
    },
    retry: {
      attempts: integer(env, 'RETRY_ATTEMPTS', 2, 0, 10),
      resumeAttempts: integer(env, 'RESUME_ATTEMPTS', 3, 0, 100),
      backoffMs: integer(env, 'RETRY_BACKOFF_MS', 100, 0, 60_000),
    },
    parallel: {
      parts: integer(env, 'PARALLEL_PARTS', 4, 1, 64),
      partSize: integer(env, 'PART_SIZE', 8 * MIB, 64 * 1024, GIB),
      minBytes: integer(env, 'PARALLEL_MIN_BYTES', 64 * MIB, 0, Number.MAX_SAFE_INTEGER),
    },
    maxConcurrentStreams: integer(env, 'MAX_CONCURRENT_STREAMS', 1_000, 1, 1_000_000),
    maxUrlLength: integer(env, 'MAX_URL_LENGTH', 2_048, 64, 65_536),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 30_000, 0, DAY_MS),
    workers: integer(env, 'WORKERS', availableParallelism(), 1, 1_024),
    metrics: boolean(env, 'METRICS', true),
    access: loadAccessSettings(env),
    coalesceMaxBytes: integer(env, 'COALESCE_MAX_BYTES', 8 * 1024 ** 2, 0, GIB),
    cache: {
      maxBytes: integer(env, 'CACHE_MAX_BYTES', 0, 0, Number.MAX_SAFE_INTEGER),
      maxObjectBytes: integer(env, 'CACHE_MAX_OBJECT_BYTES', 1024 ** 2, 0, GIB),
      ttlMs: integer(env, 'CACHE_TTL_MS', 1_000, 1, DAY_MS),
    },
  };
  return deepFreeze(settings);
}

/** Freezes plain objects and arrays all the way down; keys and buffers are left as they are. */
function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (Array.isArray(child) || Object.getPrototypeOf(child ?? 0) === Object.prototype) {
      deepFreeze(child);
    }
  }
  return Object.freeze(value);
}
