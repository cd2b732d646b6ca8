import type { Dispatcher } from 'undici';
import type { Settings } from '../settings.js';
import { s3SourceFor } from './factories.js';
import { LocalSource } from './local.js';
import type { Source } from './source.js';
import { createUpstreamDispatcher, UpstreamSource } from './upstream.js';

/** Dispatchers a test may supply (undici's MockAgent) instead of the ones built from settings. */
export interface SourceClients {
  s3Dispatcher?: Dispatcher;
  upstreamDispatcher?: Dispatcher;
}

/** The sources of the service by name, as the route table refers to them. */
export type Sources = ReadonlyMap<string, Source>;

export function createSources(settings: Settings, clients: SourceClients = {}): Sources {
  const connectMs = settings.timeouts.connectMs;
  const storage =
    settings.storageBackend === 's3'
      ? s3SourceFor(settings.s3, settings.imageBucket, connectMs, clients.s3Dispatcher)
      : new LocalSource(settings.dataDir, settings.imageBucket);
  const dispatcher = clients.upstreamDispatcher ?? createUpstreamDispatcher(connectMs);
  const upstream = new UpstreamSource(settings.upstreamBaseUrl, dispatcher);
  return new Map<string, Source>([
    ['storage', storage],
    ['upstream', upstream],
  ]);
}
