import { createServer, type Server, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  createLocalSource,
  createUpstreamSource,
  LocalSource,
  type ObjectRouteSpec,
  type ReadOptions,
  type Source,
  streamgate,
} from 'streamgate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, sha256 } from '../dev/pattern.js';
import { buildApp } from '../src/app.js';
import { servePolicy } from '../src/plugin.js';
import { loadSettings } from '../src/settings.js';
import { type TempStore, tempStore } from './helpers/store.js';

const OBJECT = patternBytes(0, 256 * 1024);

/** A source of a team's own: the local store, counting what the plugin asks of it. */
class CountingSource implements Source {
  closed = 0;
  constructor(private readonly inner: Source) {}
  stat(key: string, signal: AbortSignal) {
    return this.inner.stat(key, signal);
  }
  read(key: string, options: ReadOptions) {
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

  it('keeps the catalogue’s handler to their scope: the app’s 404 stays Fastify’s', async () => {
    const response = await app.inject({ url: '/elsewhere' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
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
