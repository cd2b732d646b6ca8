import { execFile } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  createLocalSource,
  createS3Source,
  createUpstreamSource,
  LocalSource,
  NotModified,
  type ObjectRouteSpec,
  OptionError,
  type ReadOptions,
  type Source,
  SourceError,
  streamgate,
} from 'streamgate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, sha256 } from '../dev/pattern.js';
import { buildApp } from '../src/app.js';
import { servePolicy } from '../src/plugin.js';
import { loadSettings } from '../src/settings.js';
import { waitFor } from './helpers/http-client.js';
import { recordChannel } from './helpers/observe.js';
import { type TempStore, tempStore } from './helpers/store.js';

const OBJECT = patternBytes(0, 256 * 1024);
/** What the stream channels publish during each test. */
const streamEnds = recordChannel('streamgate:stream:end', (message) => message);
const sourceAttempts = recordChannel('streamgate:source:attempt', (message) => message);

/** A source of a team's own: the local store, counting what the plugin asks of it. */
class CountingSource implements Source {
  closed = 0;
  asked = 0;
  constructor(private readonly inner: Source) {}
  stat(key: string, signal: AbortSignal) {
    this.asked++;
    return this.inner.stat(key, signal);
  }
  read(key: string, options: ReadOptions) {
    this.asked++;
    return this.inner.read(key, options);
  }
  probe(signal: AbortSignal) {
    return this.inner.probe(signal);
  }
  async close() {
    this.closed++;
  }
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * An HTTP upstream on 127.0.0.1 that records the path of each request. `/public/get-only`
 * serves GET only, as a FastAPI `@app.get` route does (HEAD: 405), with an ETag and no
 * `accept-ranges`; any other path answers a short body of its own.
 */
async function recordingUpstream(): Promise<{
  origin: string;
  seen: string[];
  close(): Promise<void>;
}> {
  const seen: string[] = [];
  const server = createHttpServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    if (request.url !== '/public/get-only') {
      response.writeHead(200, { 'content-length': 7 }).end('sibling');
    } else if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
    } else if (request.headers['if-none-match'] === '"g1"') {
      response.writeHead(304, { etag: '"g1"' }).end();
    } else {
      response.writeHead(200, { 'content-length': OBJECT.length, etag: '"g1"' }).end(OBJECT);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the streamgate plugin inside a team’s app', () => {
  let store: TempStore;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let files: CountingSource;
  let app: FastifyInstance;
  const teamErrors: unknown[] = [];

  beforeAll(async () => {
    store = await tempStore('plugin');
    await store.put('files', 'reports/q3 report.pdf', OBJECT);
    silent = await silentServer();
    files = new CountingSource(new LocalSource(store.dir, 'files'));
    app = Fastify();
    app.setErrorHandler((error, _request, reply) => {
      teamErrors.push(error);
      return reply.code(500).send({ team: 'handled' });
    });
    await app.register(streamgate, {
      sources: new Map<string, Source>([
        ['files', files],
        ['silent', createUpstreamSource({ baseUrl: silent.url })],
        ['nowhere', createUpstreamSource({ baseUrl: 'http://127.0.0.1:9' })],
      ]),
      timeouts: { firstByteMs: 200 },
      retry: { attempts: 0 },
      errors: { 'not-found': 'IMAGE_NOT_FOUND' },
    });
    app.get<{ Params: { source: string; '*': string } }>('/:source/*', async (request, reply) => {
      const { source, '*': rest } = request.params;
      // Keys of an upstream source are paths below its base URL.
      const key = source === 'files' ? rest : `/${rest}`;
      const query = request.query as Record<string, string>;
      return reply.sendObject(source, key, {
        contentType: query.type,
        cacheControl: query.cache,
        download: query.as,
        errors: query.wording === 'object' ? { 'not-found': 'OBJECT_NOT_FOUND' } : undefined,
      });
    });
  });

  afterAll(async () => {
    await app?.close();
    await silent?.close();
    await store?.remove();
  });

  it('streams an object of a source of the team’s own, with the call’s presentation', async () => {
    const response = await app.inject({
      url: '/files/reports/q3%20report.pdf?type=application/pdf&as=q3 report.pdf',
    });
    expect(response.statusCode).toBe(200);
    expect(sha256(response.rawPayload)).toBe(sha256(OBJECT));
    expect(response.headers['content-type']).toBe('application/pdf');
    expect(response.headers['content-disposition']).toBe('attachment; filename="q3_report.pdf"');
    expect(response.headers['cache-control']).toBe('no-cache');
  });

  it('publishes the stream events of its routes, with the route pattern and source as scope', async () => {
    const response = await app.inject({ url: '/files/reports/q3%20report.pdf' });
    expect(sha256(response.rawPayload)).toBe(sha256(OBJECT));
    await waitFor(() => streamEnds.length === 1, 'the stream end');
    const scope = { route: '/:source/*', source: 'files' };
    expect(streamEnds).toEqual([
      {
        scope,
        outcome: 'complete',
        bytesFromSource: OBJECT.length,
        bytesToClient: OBJECT.length,
        resumes: 0,
      },
    ]);
    expect(sourceAttempts).toMatchObject([{ scope, operation: 'read', attempt: 1, outcome: 'ok' }]);
  });

  it('defaults the content type when neither the call nor the source names one', async () => {
    const response = await app.inject({ url: '/files/reports/q3%20report.pdf' });
    expect(response.headers['content-type']).toBe('application/octet-stream');
  });

  it('words failures as the plugin says, a call overriding it, without the team’s handler', async () => {
    const byPlugin = await app.inject({ url: '/files/missing.pdf' });
    expect(byPlugin.statusCode).toBe(404);
    expect(byPlugin.json()).toEqual({ detail: 'Image not found' });
    const byCall = await app.inject({ url: '/files/missing.pdf?wording=object' });
    expect(byCall.json()).toEqual({ detail: 'Object not found' });
    const escaping = await app.inject({ url: '/files/..%2F..%2Fetc%2Fpasswd' });
    expect(escaping.statusCode).toBe(404);
    expect(teamErrors).toEqual([]);
  });

  it('answers 502 for an unreachable source and 504 for a silent one, with the default wording', async () => {
    const refused = await app.inject({ url: '/nowhere/object' });
    expect(refused.statusCode).toBe(502);
    expect(refused.json()).toEqual({ detail: 'Failed to get the object' });
    const silence = await app.inject({ url: '/silent/object' });
    expect(silence.statusCode).toBe(504);
    expect(silence.json()).toEqual({ detail: 'Source did not answer in time' });
    expect(teamErrors).toEqual([]);
  });

  it('leaves a bug (an unknown source name) to the team’s error handler', async () => {
    const response = await app.inject({ url: '/elsewhere/object' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ team: 'handled' });
    expect(String(teamErrors.pop())).toContain('no source named elsewhere');
  });

  // A call's header options may come from a request, as `type` and `cache` do here: Node would
  // refuse them only when the answer is written, after the source was opened.
  it.each([
    ['contentType', 'type=text/plain%0d%0aset-cookie:%20a=b', 'a value valid in an HTTP header'],
    ['cacheControl', 'cache=max-age=60%0aX-Evil:%201', 'a value valid in an HTTP header'],
    ['cacheControl', 'cache=', 'a non-empty string'],
  ])(
    'refuses a call whose %s is no header value, before asking the source',
    async (option, query, reason) => {
      const asked = files.asked;
      const response = await app.inject({ url: `/files/reports/q3%20report.pdf?${query}` });
      expect(response.statusCode).toBe(500);
      expect(response.json()).toEqual({ team: 'handled' });
      expect(response.headers['set-cookie']).toBeUndefined();
      const error = teamErrors.pop();
      expect(error).toBeInstanceOf(OptionError);
      expect(String(error)).toContain(`option sendObject.${option}: expected ${reason}`);
      expect(files.asked).toBe(asked);
    },
  );

  // Without the sweep, the connection would hold app.close() for Fastify's 72 s keep-alive.
  it('closes an app whose keep-alive client has just finished a download', {
    timeout: 20_000,
  }, async () => {
    const other = Fastify();
    await other.register(streamgate, { sources: { files: new LocalSource(store.dir, 'files') } });
    other.get('/report', (_request, reply) => reply.sendObject('files', 'reports/q3 report.pdf'));
    const url = await other.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${url}/report`);
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(OBJECT));
    await other.close();
  });

  it('closes its sources when the app closes', async () => {
    const source = new CountingSource(createLocalSource({ root: store.dir, bucket: 'files' }));
    const other = Fastify();
    await other.register(streamgate, { sources: { files: source } });
    await other.close();
    expect(source.closed).toBe(1);
  });
});

/** A source of a team's own that answers from memory, recording what became of its bodies. */
class MemorySource implements Source {
  readonly bodies: Readable[] = [];
  /** The If-None-Match of each read asked, in order. */
  readonly readsIfNoneMatch: (string | undefined)[] = [];
  failure: Error | undefined;
  /** Answer `ifNoneMatch` with NotModified, as a source that revalidates does. */
  revalidates = false;
  /** Answer with a body that never ends by itself, as a large object read slowly does. */
  endless = false;
  readonly info = {
    size: OBJECT.length,
    etag: '"v1"',
    lastModified: undefined,
    contentType: undefined,
    cacheControl: undefined,
    acceptRanges: true,
  };
  async stat() {
    if (this.failure) throw this.failure;
    return { ...this.info };
  }
  async read(_key: string, options: ReadOptions) {
    this.readsIfNoneMatch.push(options.ifNoneMatch);
    if (this.failure) throw this.failure;
    if (this.revalidates && options.ifNoneMatch === this.info.etag) throw new NotModified();
    if (this.endless) {
      const body = new Readable({
        read() {
          this.push(OBJECT.subarray(0, 64 * 1024));
        },
      });
      this.bodies.push(body);
      return { info: { ...this.info, size: 1024 ** 3 }, range: undefined, body };
    }
    const { start, end } = options.range ?? { start: 0, end: OBJECT.length - 1 };
    const body = Readable.from([OBJECT.subarray(start, end + 1)], { objectMode: false });
    this.bodies.push(body);
    return { info: { ...this.info }, range: options.range, body };
  }
  async probe() {}
  async close() {}
}

describe('the plugin with what a team may do by mistake or by design', () => {
  it('keeps the defaults for options given as undefined', () => {
    const policy = servePolicy({ firstByteMs: undefined, idleMs: 5 }, { attempts: undefined });
    expect(policy.open.firstByteMs).toBe(15_000);
    expect(policy.open.attempts).toBe(2);
    expect(policy.body.idleMs).toBe(5);
  });

  it('refuses at registration an option the service would refuse as a setting', async () => {
    const local = () => ({ files: new LocalSource('/nonexistent', 'files') });
    const refused: [string, Record<string, unknown>][] = [
      ['option sources: required', {}],
      [
        'option parallel.partSize: expected a number from 65536',
        { sources: local(), parallel: { partSize: 0 } },
      ],
      [
        'option timeouts.idleMs: expected a number from 1',
        { sources: local(), timeouts: { idleMs: 0 } },
      ],
      [
        'option timeouts.firstByteMs: expected a number, got string',
        { sources: local(), timeouts: { firstByteMs: '5000' } },
      ],
      [
        'option retry.attempts: expected a whole number, got "1.5"',
        { sources: local(), retry: { attempts: 1.5 } },
      ],
      [
        'option sharing.cache.ttlMs: expected a number from 1',
        { sources: local(), sharing: { cache: { ttlMs: 0 } } },
      ],
      [
        'option cacheControl: expected a value valid in an HTTP header',
        { sources: local(), cacheControl: 'no-cache\r\n' },
      ],
      [
        'option cacheControl: expected a non-empty string',
        { sources: local(), cacheControl: 3600 },
      ],
      ['option cacheControl: expected a non-empty string', { sources: local(), cacheControl: '' }],
      [
        'option routes[1].defaultContentType: expected a value valid in an HTTP header',
        {
          sources: local(),
          routes: [{ contentType: 'text/plain' }, { defaultContentType: 'text/csv\r\nx-a: 1' }],
        },
      ],
    ];
    for (const [message, options] of refused) {
      const app = Fastify();
      await expect(app.register(streamgate, options as never).ready()).rejects.toThrow(message);
      await app.close();
    }
    const accepted = Fastify();
    await accepted.register(streamgate, {
      sources: local(),
      timeouts: { idleMs: 1, totalMs: 0, firstByteMs: undefined },
      parallel: { partSize: 65_536 },
    });
    await accepted.ready();
    await accepted.close();
  });

  it('answers errors as JSON without the headers the handler set for the object', async () => {
    const app = Fastify();
    const source = new MemorySource();
    await app.register(streamgate, {
      sources: { memory: source },
      errors: { 'not-found': undefined },
    });
    app.get('/object', (_request, reply) => {
      reply.type('image/jpeg').header('cache-control', 'public, max-age=3600');
      return reply.sendObject('memory', 'k');
    });
    try {
      source.failure = new SourceError('not-found', 'no such object');
      const missing = await app.inject({ url: '/object' });
      expect(missing.statusCode).toBe(404);
      expect(missing.headers['content-type']).toMatch(/^application\/json/);
      expect(missing.headers['cache-control']).toBeUndefined();
      expect(missing.json()).toEqual({ detail: 'Object not found' });
      source.failure = undefined;
      const unsatisfiable = await app.inject({
        url: '/object',
        headers: { range: 'bytes=999999-' },
      });
      expect(unsatisfiable.statusCode).toBe(416);
      expect(unsatisfiable.headers['content-type']).toMatch(/^application\/json/);
      expect(unsatisfiable.json()).toEqual({ detail: 'Range Not Satisfiable' });
    } finally {
      await app.close();
    }
  });

  it('answers a plain Error of a team’s source as a 502 with the catalogue’s detail only', async () => {
    const app = Fastify();
    const source = new MemorySource();
    source.failure = new Error('connect ECONNREFUSED 10.0.3.7:9000 secret=AKIAEXAMPLE');
    await app.register(streamgate, { sources: { memory: source }, retry: { attempts: 0 } });
    app.get('/object', (_request, reply) => reply.sendObject('memory', 'k'));
    try {
      const response = await app.inject({ url: '/object' });
      expect(response.statusCode).toBe(502);
      expect(response.json()).toEqual({ detail: 'Failed to get the object' });
      expect(response.body).not.toContain('10.0.3.7');
    } finally {
      await app.close();
    }
  });

  it('releases the body when the handler did not wait for sendObject', async () => {
    const app = Fastify({ logger: false });
    const source = new MemorySource();
    source.endless = true;
    await app.register(streamgate, { sources: { memory: source }, parallel: { parts: 1 } });
    app.get('/object', async (_request, reply) => {
      void reply.sendObject('memory', 'k');
    });
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const answered = await fetch(`${url}/object`);
      expect(answered.status).toBe(200);
      expect((await answered.arrayBuffer()).byteLength).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(source.bodies).toHaveLength(1);
      expect(source.bodies[0]?.destroyed).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('serves from the cache when a team’s source answers NotModified on revalidation', async () => {
    const app = Fastify();
    const source = new MemorySource();
    source.revalidates = true;
    await app.register(streamgate, {
      sources: { memory: source },
      sharing: { cache: { maxBytes: 1024 * 1024, maxObjectBytes: 1024 * 1024, ttlMs: 1 } },
    });
    // A route that declares its Reply type compiles with sendObject's promise as its answer.
    app.get<{ Reply: string }>('/object', (_request, reply) => reply.sendObject('memory', 'k'));
    try {
      for (let i = 0; i < 2; i++) {
        const response = await app.inject({ url: '/object' });
        expect(response.statusCode).toBe(200);
        expect(sha256(response.rawPayload)).toBe(sha256(OBJECT));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // The second request found the entry stale and asked again, conditionally.
      expect(source.readsIfNoneMatch).toEqual([undefined, '"v1"']);
      expect(source.bodies).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('keeps an upstream key below the base URL', async () => {
    const app = Fastify();
    await app.register(streamgate, {
      sources: { up: createUpstreamSource({ baseUrl: 'http://127.0.0.1:9/public' }) },
      retry: { attempts: 0 },
    });
    app.get<{ Params: { '*': string } }>('/up/*', (request, reply) =>
      reply.sendObject('up', `/${request.params['*']}`),
    );
    try {
      for (const url of [
        '/up/..%2Fadmin%2Fsecrets',
        '/up/%2e%2e/admin',
        '/up/a%3Fx=1',
        // The key keeps `%2F` and `%5C`, which an upstream such as nginx decodes, then resolves.
        '/up/x%252F..%252F..%252Fadmin',
        '/up/x%255C..%255Cadmin',
      ]) {
        const response = await app.inject({ url });
        // Not found before any request: the base URL's port 9 would refuse it with a 502.
        expect(response.statusCode).toBe(404);
      }
    } finally {
      await app.close();
    }
  });
});

describe('the plugin over an upstream of a team', () => {
  let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
  let app: FastifyInstance;

  beforeAll(async () => {
    upstream = await recordingUpstream();
    app = Fastify();
    await app.register(streamgate, {
      sources: { up: createUpstreamSource({ baseUrl: `${upstream.origin}/public/` }) },
      retry: { attempts: 0 },
    });
    // The key as the client sent it: nothing puts a `/` in front of it.
    app.get<{ Params: { key: string } }>('/raw/:key', (request, reply) =>
      reply.sendObject('up', request.params.key),
    );
    app.get<{ Params: { key: string } }>('/up/:key', (request, reply) =>
      reply.sendObject('up', `/${request.params.key}`),
    );
  });

  afterAll(async () => {
    await app?.close();
    await upstream?.close();
  });

  it('finds no key that does not begin with /, rather than a sibling of the base path', async () => {
    upstream.seen.length = 0;
    for (const key of ['-admin%2Fsecret', 'get-only']) {
      const response = await app.inject({ url: `/raw/${key}` });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ detail: 'Object not found' });
    }
    expect(upstream.seen).toEqual([]);
  });

  it('answers HEAD, Range and conditional requests where the upstream refuses HEAD', async () => {
    const head = await app.inject({ method: 'HEAD', url: '/up/get-only' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(OBJECT.length));
    expect(head.headers.etag).toBe('"g1"');
    // It announces no ranges: the whole object is the answer to one.
    const ranged = await app.inject({ url: '/up/get-only', headers: { range: 'bytes=10-19' } });
    expect(ranged.statusCode).toBe(200);
    expect(sha256(ranged.rawPayload)).toBe(sha256(OBJECT));
    const unchanged = await app.inject({
      url: '/up/get-only',
      headers: { 'if-none-match': '"g1"' },
    });
    expect(unchanged.statusCode).toBe(304);
  });
});

describe('a source given to more than one registration', () => {
  it('is closed once when the app closes, whichever kind it is', async () => {
    const shared = {
      s3: createS3Source({
        bucket: 'b',
        endpoint: 'http://127.0.0.1:9',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      }),
      upstream: createUpstreamSource({ baseUrl: 'http://127.0.0.1:9' }),
      own: new CountingSource(new MemorySource()),
    };
    const app = Fastify();
    for (const prefix of ['/a', '/b']) {
      await app.register(
        async (scope) => {
          await scope.register(streamgate, { sources: shared });
        },
        { prefix },
      );
    }
    await app.ready();
    await expect(app.close()).resolves.toBeUndefined();
    expect(shared.own.closed).toBe(1);
  });
});

describe('route-table entries registered by the plugin', () => {
  let store: TempStore;
  let app: FastifyInstance;
  const route: ObjectRouteSpec = {
    operationId: 'getReport',
    summary: 'A report',
    url: '/reports/:year',
    params: [{ name: 'year', max: 2100 }],
    source: 'files',
    key: 'reports/{year}.pdf',
    contentType: 'application/pdf',
    defaultContentType: 'application/pdf',
    filename: 'report-{year}.pdf',
    errors: { 'not-found': 'OBJECT_NOT_FOUND', ...failedAsObject() },
  };

  beforeAll(async () => {
    store = await tempStore('plugin-routes');
    await store.put('files', 'reports/2026.pdf', OBJECT);
    app = Fastify();
    await app.register(streamgate, {
      sources: { files: new LocalSource(store.dir, 'files') },
      routes: [route],
    });
  });

  afterAll(async () => {
    await app?.close();
    await store?.remove();
  });

  it('serves them as the service does: ranges, downloads, the catalogue’s 422 and 405', async () => {
    const ranged = await app.inject({
      url: '/reports/2026?download=1',
      headers: { range: 'bytes=10-19' },
    });
    expect(ranged.statusCode).toBe(206);
    expect(sha256(ranged.rawPayload)).toBe(sha256(OBJECT.subarray(10, 20)));
    expect(ranged.headers['content-disposition']).toBe('attachment; filename="report-2026.pdf"');
    const tooLate = await app.inject({ url: '/reports/2200' });
    expect(tooLate.statusCode).toBe(422);
    expect(tooLate.json()).toMatchObject({ detail: [{ loc: ['path', 'year'] }] });
    const post = await app.inject({ method: 'POST', url: '/reports/2026' });
    expect(post.statusCode).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('publishes their stream events, scoped by operation id and source', async () => {
    const response = await app.inject({ url: '/reports/2026' });
    expect(sha256(response.rawPayload)).toBe(sha256(OBJECT));
    await waitFor(() => streamEnds.length === 1, 'the stream end');
    expect(streamEnds).toMatchObject([
      { scope: { route: 'getReport', source: 'files' }, outcome: 'complete' },
    ]);
  });

  it('keeps the catalogue’s handler to their scope: the app’s 404 stays Fastify’s', async () => {
    const response = await app.inject({ url: '/elsewhere' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});

describe('importing the library', () => {
  it('loads what serving needs, not the service’s API docs (@fastify/swagger)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/library-packages.ts'],
      { timeout: 30_000 },
    );
    const loaded: string[] = JSON.parse(stdout);
    // The check sees what is loaded: the sources' undici.
    expect(loaded).toContain('undici');
    expect(loaded).not.toContain('@fastify/swagger');
    expect(loaded).not.toContain('@fastify/swagger-ui');
  });
});

describe('the service built on the plugin', () => {
  it('serves with the documented defaults when the plugin is given none', () => {
    expect(servePolicy()).toEqual({
      open: { attempts: 2, backoffMs: 100, firstByteMs: 15_000 },
      resume: { attempts: 3, backoffMs: 100 },
      body: { idleMs: 30_000, totalMs: 0 },
      parallel: { parts: 4, partSize: 8 * 1024 * 1024, minBytes: 64 * 1024 * 1024 },
    });
  });

  it('lists the route table in its OpenAPI document', async () => {
    const app = buildApp(loadSettings({ LOG_LEVEL: 'silent' }));
    try {
      const paths = Object.keys((await app.inject({ url: '/openapi.json' })).json().paths);
      expect(paths).toEqual(
        expect.arrayContaining(['/tasks/{task_id}/image', '/tasks/{task_id}/bytes/{size}']),
      );
    } finally {
      await app.close();
    }
  });
});

function failedAsObject() {
  return {
    'precondition-failed': 'OBJECT_SOURCE_FAILED',
    unavailable: 'OBJECT_SOURCE_FAILED',
    truncated: 'OBJECT_SOURCE_FAILED',
    aborted: 'OBJECT_SOURCE_FAILED',
    timeout: 'OBJECT_SOURCE_TIMEOUT',
  } as const;
}
