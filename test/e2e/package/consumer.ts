// A TypeScript consumer of the package: only type-checked (tsc --noEmit), against the packed
// declarations in the package test and against src/ through tsconfig's paths in the repository.
import Fastify from 'fastify';
import streamgate, {
  createS3Source,
  createUpstreamSource,
  type ObjectInfo,
  type ObjectRouteSpec,
  type ObjectStream,
  type ReadOptions,
  type Source,
  SourceError,
  type StreamgateOptions,
  signUrl,
} from 'streamgate';

/** A source of one's own: the interface is all the plugin needs. */
class EmptySource implements Source {
  async stat(_key: string, _signal: AbortSignal): Promise<ObjectInfo> {
    throw new SourceError('not-found', 'empty');
  }
  async read(_key: string, _options: ReadOptions): Promise<ObjectStream> {
    throw new SourceError('not-found', 'empty');
  }
  async probe(): Promise<void> {}
  async close(): Promise<void> {}
}

const options: StreamgateOptions = {
  sources: {
    photos: createS3Source({ bucket: 'photos', endpoint: process.env.AWS_ENDPOINT_URL }),
    origin: createUpstreamSource({ baseUrl: 'http://127.0.0.1:8080' }),
    empty: new EmptySource(),
  },
  timeouts: { firstByteMs: 5_000, idleMs: undefined },
  retry: { attempts: 1 },
  sharing: { cache: { maxBytes: undefined } },
  errors: { 'not-found': 'OBJECT_NOT_FOUND' },
};

export const app = Fastify();
await app.register(streamgate, options);
app.get<{ Params: { id: string } }>('/photos/:id', (request, reply) =>
  reply.sendObject('photos', `${request.params.id}.png`, {
    contentType: 'image/png',
    cacheControl: undefined,
    download: 'photo.png',
    errors: { timeout: 'OBJECT_SOURCE_TIMEOUT' },
  }),
);
// @ts-expect-error sendObject's options are typed by the package's module augmentation
app.get('/wrong', (_request, reply) => reply.sendObject('photos', 'x', { contentType: 42 }));

// Optional fields given as undefined, as a team's code reading the environment does.
export const signed = signUrl(
  '/tasks/1/image',
  { kid: 'k1', secret: 's'.repeat(32) },
  {
    etag: process.env.ETAG,
    ttlSeconds: undefined,
  },
);
export const failure = new SourceError('unavailable', 'down', { retryable: undefined });
export const year: ObjectRouteSpec['params'][number] = { name: 'year', max: undefined };
