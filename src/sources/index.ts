import type { S3Client } from '@aws-sdk/client-s3';
import type { Dispatcher } from 'undici';
import type { Settings } from '../settings.js';
import { LocalSource } from './local.js';
import { createS3Client, S3Source } from './s3.js';
import type { Source } from './source.js';
import { createUpstreamDispatcher, UpstreamSource } from './upstream.js';

/** Clients a test may supply instead of the ones built from settings. */
export interface SourceClients {
  s3Client?: S3Client;
  upstreamDispatcher?: Dispatcher;
}

/** The sources of the service by name, as the route table refers to them. */
export type Sources = ReadonlyMap<string, Source>;

export function createSources(settings: Settings, clients: SourceClients = {}): Sources {
  const connectMs = settings.timeouts.connectMs;
  const storage =
    settings.storageBackend === 's3'
      ? new S3Source(
          clients.s3Client ?? createS3Client(settings.s3, connectMs),
          settings.imageBucket,
        )
      : new LocalSource(settings.dataDir, settings.imageBucket);
  const dispatcher = clients.upstreamDispatcher ?? createUpstreamDispatcher(connectMs);
  const upstream = new UpstreamSource(settings.upstreamBaseUrl, dispatcher);
  return new Map<string, Source>([
    ['storage', storage],
    ['upstream', upstream],
  ]);
}
