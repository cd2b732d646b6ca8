import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../errors.js';
import type { Source } from './source.js';
import { createUpstreamDispatcher, UpstreamSource } from './upstream.js';

const LARGE = 1024 ** 3;

/** Resolves with `promise`, or rejects once `ms` pass: a request that hangs fails the test. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * An upstream on 127.0.0.1 that records `METHOD path` (and a Range) of each request. Below
 * `/nohead/` it serves GET only, as a FastAPI `@app.get` route does (HEAD: 405, or 501 for
 * `/nohead/501`), honouring a Range; `/nohead/large` ignores Range and sends a body larger than
 * anyone would read to learn the headers; `/nohead/stream` ignores Range too and trickles a
 * chunked body, as a StreamingResponse does; `/nohead/small` ignores it and sends 5 bytes at
 * once; `/nohead/empty` is an empty object whose 416 carries no validators; `/refused`
 * refuses every method; any other path answers `ok`.
 */
async function recordingUpstream() {
  const seen: string[] = [];
  const unfinished: string[] = [];
  const server = http.createServer((request, response) => {
    const path = request.url ?? '';
    const range = request.headers.range;
    seen.push(`${request.method} ${path}${range === undefined ? '' : ` ${range}`}`);
    if (path.startsWith('/nohead/') && request.method !== 'GET') {
      response.writeHead(path.endsWith('/501') ? 501 : 405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/refused') {
      response.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    if (path === '/nohead/stream') {
      response.on('close', () => {
        if (!response.writableFinished) unfinished.push(path);
      });
      response.writeHead(200, { etag: '"stream"' });
      const trickle = setInterval(() => response.write(Buffer.alloc(1024)), 50);
      response.on('close', () => clearInterval(trickle));
      return;
    }
    if (path === '/nohead/empty') {
      // As @fastify/send and Starlette: the 416 says only what cannot be sent.
      if (range === undefined) response.writeHead(200, { etag: '"empty"', 'content-length': 0 });
      else response.writeHead(416, { 'content-range': 'bytes */0', 'content-type': 'text/html' });
      response.end();
      return;
    }
    if (path === '/nohead/small') {
      // Ignores the Range and answers at once, the whole body in the first packet.
      response.writeHead(200, { etag: '"small"', 'content-length': 5 });
      response.end('small');
      return;
    }
    if (path === '/nohead/large') {
      response.on('close', () => {
        if (!response.writableFinished) unfinished.push(path);
      });
      // More than any socket buffer: only the client letting go ends this answer.
      response.writeHead(200, { 'content-length': LARGE, etag: '"large"' });
      response.write(Buffer.alloc(1024 * 1024));
      return;
    }
    if (path.startsWith('/nohead/') && range === 'bytes=0-0') {
      response.writeHead(206, {
        'content-range': 'bytes 0-0/2',
        'content-length': 1,
        etag: '"ok"',
      });
      response.end('o');
      return;
    }
    response.writeHead(200, { 'content-length': 2, etag: '"ok"', 'accept-ranges': 'bytes' });
    response.end(request.method === 'HEAD' ? undefined : 'ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    seen,
    unfinished,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Waits, at most 5 s, until the upstream has seen an answer closed before its end. */
function untilAnAnswerIsCut(unfinished: readonly string[]): Promise<void> {
  return within(
    (async () => {
      while (unfinished.length === 0) await new Promise((r) => setTimeout(r, 10));
    })(),
    5_000,
  );
}

async function text(source: Source, key: string): Promise<string> {
  const opened = await source.read(key, { signal: AbortSignal.timeout(5_000) });
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

async function failureOf(attempt: Promise<unknown>): Promise<string> {
  const error = await within(attempt, 5_000).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SourceError);
  return (error as SourceError).failure;
}

describe('UpstreamSource', () => {
  let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
  const sources: Source[] = [];

  function sourceAt(baseUrl: string): Source {
    const source = new UpstreamSource(baseUrl, createUpstreamDispatcher(1_000));
    sources.push(source);
    return source;
  }

  beforeAll(async () => {
    upstream = await recordingUpstream();
  });

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((source) => source.close()));
    upstream.seen.length = 0;
    upstream.unfinished.length = 0;
  });

  afterAll(async () => {
    await upstream?.close();
  });

  it('reads a key beginning with / below the base path, with or without its trailing /', async () => {
    for (const base of ['/public', '/public/']) {
      expect(await text(sourceAt(upstream.origin + base), '/file.txt')).toBe('ok');
    }
    expect(await text(sourceAt(upstream.origin), '/file.txt')).toBe('ok');
    expect(upstream.seen).toEqual([
      'GET /public/file.txt',
      'GET /public/file.txt',
      'GET /file.txt',
    ]);
  });

  it('finds no key that does not begin with /, asking the upstream nothing', async () => {
    // Glued to the base path, `-admin/secret` would have been its sibling `/public-admin/secret`.
    const keys = ['-admin/secret', 'file.txt', '', `${upstream.origin}/public/file.txt`];
    for (const base of ['/public', '/public/', '']) {
      const source = sourceAt(upstream.origin + base);
      for (const key of keys) {
        expect(await failureOf(source.read(key, { signal: AbortSignal.timeout(5_000) }))).toBe(
          'not-found',
        );
        expect(await failureOf(source.stat(key, AbortSignal.timeout(5_000)))).toBe('not-found');
      }
    }
    expect(upstream.seen).toEqual([]);
  });

  it('reads the validators with a GET of the first byte where the upstream refuses HEAD (405, 501)', async () => {
    for (const key of ['/405', '/501']) {
      const source = sourceAt(`${upstream.origin}/nohead`);
      const info = await within(source.stat(key, AbortSignal.timeout(5_000)), 5_000);
      expect(info).toMatchObject({ size: 2, etag: '"ok"', acceptRanges: true });
      // Refused once, the source asks that upstream with a GET from then on.
      await within(source.stat(key, AbortSignal.timeout(5_000)), 5_000);
    }
    expect(upstream.seen).toEqual([
      'HEAD /nohead/405',
      'GET /nohead/405 bytes=0-0',
      'GET /nohead/405 bytes=0-0',
      'HEAD /nohead/501',
      'GET /nohead/501 bytes=0-0',
      'GET /nohead/501 bytes=0-0',
    ]);
  });

  it('describes an empty object by a GET of the whole, not by the 416 to its first byte', async () => {
    const source = sourceAt(upstream.origin);
    const info = await within(source.stat('/nohead/empty', AbortSignal.timeout(5_000)), 5_000);
    expect(info).toMatchObject({ size: 0, etag: '"empty"', contentType: undefined });
    expect(upstream.seen).toEqual([
      'HEAD /nohead/empty',
      'GET /nohead/empty bytes=0-0',
      'GET /nohead/empty',
    ]);
  });

  it('lets go of a small whole answer to the first byte without an unhandled error', async () => {
    const source = sourceAt(upstream.origin);
    const info = await within(source.stat('/nohead/small', AbortSignal.timeout(5_000)), 5_000);
    expect(info).toMatchObject({ size: 5, etag: '"small"' });
    // An 'error' event nobody handled would surface here, failing the run.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await text(source, '/after')).toBe('ok');
  });

  it('answers at once over an upstream that ignores the Range and trickles its body', async () => {
    const source = sourceAt(upstream.origin);
    const started = performance.now();
    const info = await within(source.stat('/nohead/stream', AbortSignal.timeout(5_000)), 5_000);
    // The first chunk comes with the headers; waiting for 128 KiB would take over 6 s.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(info).toMatchObject({ size: undefined, etag: '"stream"' });
    await untilAnAnswerIsCut(upstream.unfinished);
    expect(upstream.unfinished).toEqual(['/nohead/stream']);
  });

  it('lets go of the body of that GET without reading a large one to its end', async () => {
    const source = sourceAt(upstream.origin);
    const info = await within(source.stat('/nohead/large', AbortSignal.timeout(5_000)), 5_000);
    expect(info).toMatchObject({ size: LARGE, etag: '"large"' });
    // The connection is closed rather than drained, and the source still answers after it.
    await untilAnAnswerIsCut(upstream.unfinished);
    expect(upstream.unfinished).toEqual(['/nohead/large']);
    expect(await text(source, '/after')).toBe('ok');
  });

  it('fails as the GET does when the upstream refuses it as well', async () => {
    const source = sourceAt(upstream.origin);
    expect(await failureOf(source.stat('/refused', AbortSignal.timeout(5_000)))).toBe(
      'unavailable',
    );
    expect(upstream.seen).toEqual(['HEAD /refused', 'GET /refused bytes=0-0']);
  });
});
