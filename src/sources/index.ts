import type { Dispatcher } from 'undici';
import type { Settings } from '../settings.js';
import { LocalSource } from './local.js';
import { bucketAddress, createS3Pool, S3BucketClient } from './s3/client.js';
import { credentialsFor } from './s3/credentials.js';
import { S3Source } from './s3.js';
import type { Source } from './source.js';
import { createUpstreamDispatcher, UpstreamSource } from './upstream.js';

/** Dispatchers a test may supply (undici's MockAgent) instead of the ones built from settings. */
export interface SourceClients {
  s3Dispatcher?: Dispatcher;
  upstreamDispatcher?: Dispatcher;
}

/** The sources of the service by name, as the route table refers to them. */
export type Sources = ReadonlyMap<string, Source>;

function s3Source(settings: Settings, dispatcher: Dispatcher | undefined): S3Source {
  const address = bucketAddress(settings.s3, settings.imageBucket);
  const client = new S3BucketClient({
    address,
    region: settings.s3.region,
    dispatcher:
      dispatcher ?? createS3Pool(settings.s3, address.origin, settings.timeouts.connectMs),
    credentials: credentialsFor(settings.s3),
  });
  return new S3Source(client);
}

export function createSources(settings: Settings, clients: SourceClients = {}): Sources {
  const connectMs = settings.timeouts.connectMs;
  const storage =
    settings.storageBackend === 's3'
      ? s3Source(settings, clients.s3Dispatcher)
      : new LocalSource(settings.dataDir, settings.imageBucket);
  const dispatcher = clients.upstreamDispatcher ?? createUpstreamDispatcher(connectMs);
  const upstream = new UpstreamSource(settings.upstreamBaseUrl, dispatcher);
  return new Map<string, Source>([
    ['storage', storage],
    ['upstream', upstream],
  ]);
}
