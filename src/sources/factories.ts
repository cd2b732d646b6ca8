import { loadSettings, type S3Settings } from '../settings.js';
import { LocalSource } from './local.js';
import { createS3Client, S3Source } from './s3.js';
import type { Source } from './source.js';
import { createUpstreamDispatcher, UpstreamSource } from './upstream.js';

const serviceDefaults = loadSettings({});

/** One bucket of S3-compatible storage; unset fields take the service's defaults. */
export interface S3SourceOptions {
  bucket: string;
  /** Unset: AWS itself. */
  endpoint?: string;
  region?: string;
  /** Unset: the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Default: true when an endpoint is set (MinIO, Ceph, emulators). */
  forcePathStyle?: boolean;
  tlsVerify?: boolean;
  /** Size of the keep-alive socket pool. */
  maxSockets?: number;
  connectTimeoutMs?: number;
}

/** An S3 source with its own pooled client and no client-side retries (streamgate retries). */
export function createS3Source(options: S3SourceOptions): Source {
  const defaults = serviceDefaults.s3;
  const settings: S3Settings = {
    endpoint: options.endpoint,
    accessKeyId: options.credentials?.accessKeyId,
    secretAccessKey: options.credentials?.secretAccessKey,
    region: options.region ?? defaults.region,
    tlsVerify: options.tlsVerify ?? defaults.tlsVerify,
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    maxSockets: options.maxSockets ?? defaults.maxSockets,
  };
  const connectMs = options.connectTimeoutMs ?? serviceDefaults.timeouts.connectMs;
  return new S3Source(createS3Client(settings, connectMs), options.bucket);
}

/** An HTTP upstream: keys are paths below `baseUrl`. */
export interface UpstreamSourceOptions {
  baseUrl: string;
  connectTimeoutMs?: number;
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
