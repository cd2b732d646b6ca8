import type { Dispatcher } from 'undici';
import { loadSettings, type S3Settings } from '../settings.js';
import { LocalSource } from './local.js';
import { bucketAddress, createS3Pool, S3BucketClient } from './s3/client.js';
import { credentialsFor } from './s3/credentials.js';
import { S3Source } from './s3.js';
import type { Source } from './source.js';
import { createUpstreamDispatcher, UpstreamSource } from './upstream.js';

const serviceDefaults = loadSettings({});

/** One bucket of S3-compatible storage; unset (or `undefined`) fields take the service's defaults. */
export interface S3SourceOptions {
  bucket: string;
  /** Unset: AWS itself. */
  endpoint?: string | undefined;
  region?: string | undefined;
  /** Unset: the AWS default credential chain, asked once and refreshed before expiry. */
  credentials?:
    | { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }
    | undefined;
  /** Default: true when an endpoint is set (MinIO, Ceph, emulators). */
  forcePathStyle?: boolean | undefined;
  tlsVerify?: boolean | undefined;
  /** Keep-alive connections of the endpoint's pool. */
  maxSockets?: number | undefined;
  connectTimeoutMs?: number | undefined;
}

/** An S3 source over its own undici Pool, signing with SigV4; streamgate retries, not the client. */
export function createS3Source(options: S3SourceOptions): Source {
  const defaults = serviceDefaults.s3;
  const settings: S3Settings = {
    endpoint: options.endpoint,
    accessKeyId: options.credentials?.accessKeyId,
    secretAccessKey: options.credentials?.secretAccessKey,
    sessionToken: options.credentials?.sessionToken,
    region: options.region ?? defaults.region,
    tlsVerify: options.tlsVerify ?? defaults.tlsVerify,
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    maxSockets: options.maxSockets ?? defaults.maxSockets,
  };
  const connectMs = options.connectTimeoutMs ?? serviceDefaults.timeouts.connectMs;
  return s3SourceFor(settings, options.bucket, connectMs);
}

/** The S3 source of one bucket; `dispatcher` replaces the pool (tests use undici's MockAgent). */
export function s3SourceFor(
  settings: S3Settings,
  bucket: string,
  connectMs: number,
  dispatcher?: Dispatcher,
): S3Source {
  const address = bucketAddress(settings, bucket);
  const client = new S3BucketClient({
    address,
    region: settings.region,
    dispatcher: dispatcher ?? createS3Pool(settings, address.origin, connectMs),
    credentials: credentialsFor(settings),
  });
  return new S3Source(client);
}

/** An HTTP upstream: keys are paths below `baseUrl`. */
export interface UpstreamSourceOptions {
  baseUrl: string;
  connectTimeoutMs?: number | undefined;
}

/** An upstream source with its own pooled keep-alive dispatcher. */
export function createUpstreamSource(options: UpstreamSourceOptions): Source {
  const connectMs = options.connectTimeoutMs ?? serviceDefaults.timeouts.connectMs;
  return new UpstreamSource(options.baseUrl, createUpstreamDispatcher(connectMs));
}

/** A directory store: objects at `<root>/<bucket>/<key>`, keys jailed to the bucket. */
export interface LocalSourceOptions {
  root: string;
  bucket: string;
}

export function createLocalSource(options: LocalSourceOptions): Source {
  return new LocalSource(options.root, options.bucket);
}
