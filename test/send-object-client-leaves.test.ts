import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import {
  createUpstreamSource,
  type ReadOptions,
  type Source,
  type StreamgateOptions,
  streamgate,
} from 'streamgate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceAttemptMessage } from '../src/stream/events.js';
import { startGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/http-client.js';
import { LogCapture, recordChannel } from './helpers/observe.js';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Longest a sendObject may take to settle, and its source to be released, after the client left. */
const PROMPT_MS = 5_000;

/** Where a source's answer stops: before its headers, before its first byte, or after a chunk. */
type Stall = 'headers' | 'first byte' | 'body';

function abortError(): Error {
  return new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A source of a team's own whose answer stops at `stall` for good, recording its requests and
 * bodies. `honoursSignal`: an aborted request rejects, or destroys its body with an AbortError,
 * as undici's do; otherwise the answer comes anyway and the body is left to whoever owns it.
 */
class StallingSource implements Source {
  readonly signals: AbortSignal[] = [];
  readonly bodies: Readable[] = [];

  constructor(
    private readonly size: number,
    private readonly stall: Stall,
    private readonly honoursSignal: boolean,
  ) {}

  async stat() {
    return this.info();
  }

  async read(_key: string, { range, signal }: ReadOptions) {
    this.signals.push(signal);
    if (this.stall === 'headers') {
      if (!signal.aborted)
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      if (this.honoursSignal) throw abortError();
    }
    const body = new Readable({ read() {} });
    this.bodies.push(body);
    if (this.stall === 'body') body.push(Buffer.alloc(16 * KIB));
    if (this.honoursSignal) {
      const abort = () => body.destroy(abortError());
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    }
    return { info: this.info(), range, body };
  }

  async probe() {}
  async close() {}

  /** Every request it was asked is aborted and every body it answered is destroyed. */
  released(): boolean {
    return (
      this.signals.every((signal) => signal.aborted) && this.bodies.every((body) => body.destroyed)
    );
  }

  private info() {
    return {
      size: this.size,
      etag: '"v1"',
      lastModified: undefined,
      contentType: undefined,
      cacheControl: undefined,
      acceptRanges: true,
    };
  }
}

/** An upstream answering every GET of `/{size}` with its headers at once, then never its body. */
async function stallingUpstream() {
  let open = 0;
  const server = http.createServer((request, response) => {
    open++;
    response.once('close', () => open--);
    const size = Number(request.url?.slice(1));
    const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
    const [start, end] = range ? [Number(range[1]), Number(range[2])] : [0, size - 1];
    response.writeHead(range ? 206 : 200, {
      'content-length': end - start + 1,
      etag: '"v1"',
      'accept-ranges': 'bytes',
      ...(range && { 'content-range': `bytes ${start}-${end}/${size}` }),
    });
    response.flushHeaders();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Requests whose response has not closed. */
    open: () => open,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Counts the reads of `inner` that answered, for a client to leave after them. */
class AnsweredReads implements Source {
  answered = 0;
  constructor(private readonly inner: Source) {}
  stat(key: string, signal: AbortSignal) {
    return this.inner.stat(key, signal);
  }
  async read(key: string, options: ReadOptions) {
    const opened = await this.inner.read(key, options);
    this.answered++;
    return opened;
  }
  probe(signal: AbortSignal) {
    return this.inner.probe(signal);
  }
  close() {
    return this.inner.close();
  }
}

/**
 * Opens `url` and destroys the connection once `ready` holds (told the body bytes received so
 * far); resolves with when it did (`performance.now()`).
 */
async function leaveOnceReady(url: string, ready: (received: number) => boolean): Promise<number> {
  let received = 0;
  const request = http.get(url, { agent: false }, (response) => {
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    response.on('error', () => {});
  });
  request.on('error', () => {});
  await waitFor(() => ready(received), 'the moment to leave');
  request.destroy();
  return performance.now();
}

/** What became of one `reply.sendObject` whose client left, and when (`performance.now()`). */
interface Settled {
  outcome: 'resolved' | 'rejected';
  error?: unknown;
  at: number;
}

/**
 * A team's app serving `source` with `options`, whose client leaves once `ready` holds. Returns
 * how the handler's `await reply.sendObject()` settled, what reached the team's error handler and
 * the log lines at warn or above, once `released` holds (each within PROMPT_MS).
 */
async function teamAppWhoseClientLeaves(
  source: Source,
  key: string,
  options: Omit<StreamgateOptions, 'sources'>,
  client: { ready: (received: number) => boolean; released: () => boolean },
) {
  const logs = new LogCapture();
  const app = Fastify({ logger: { level: 'info', stream: logs } });
  const teamErrors: unknown[] = [];
  let settled: Settled | undefined;
  app.setErrorHandler((error, _request, reply) => {
    teamErrors.push(error);
    return reply.code(500).send({ team: 'handled' });
  });
  await app.register(streamgate, { sources: { s: source }, ...options });
  app.get('/object', async (_request, reply) => {
    try {
      await reply.sendObject('s', key);
      settled = { outcome: 'resolved', at: performance.now() };
    } catch (error) {
      settled = { outcome: 'rejected', error, at: performance.now() };
      throw error;
    }
  });
  try {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const leftAt = await leaveOnceReady(`${url}/object`, client.ready);
    await waitFor(() => settled !== undefined, 'sendObject to settle', PROMPT_MS);
    await waitFor(client.released, 'the source to be released', PROMPT_MS);
    const { outcome, error, at } = settled as Settled;
    const warnings = logs.lines().filter((line) => Number(line.level) >= 40);
    return { settled: { outcome, error, afterLeavingMs: at - leftAt }, teamErrors, warnings };
  } finally {
    await app.close();
  }
}

const PATHS: { path: string; size: number; options: Omit<StreamgateOptions, 'sources'> }[] = [
  { path: 'coalesced (the default)', size: 64 * KIB, options: {} },
  { path: 'above the coalescing limit', size: 9 * MIB, options: {} },
  { path: 'with coalescing off', size: 64 * KIB, options: { sharing: { coalesceMaxBytes: 0 } } },
  {
    path: 'in parallel parts',
    size: 16 * MIB,
    options: { parallel: { parts: 4, partSize: 4 * MIB, minBytes: 0 } },
  },
];

const SOURCES = [
  { kind: 'a source that ends its answer on the abort (as undici does)', honours: true },
  { kind: 'a source that leaves its answer to its owner', honours: false },
];

/** When the client leaves, for a source that stalls there. */
const LEAVING: { when: string; stall: Stall; ready: (source: StallingSource) => () => boolean }[] =
  [
    { when: 'before the headers', stall: 'headers', ready: (s) => () => s.signals.length > 0 },
    { when: 'before the first byte', stall: 'first byte', ready: (s) => () => s.bodies.length > 0 },
  ];

describe.each(PATHS)('sendObject $path, when the client leaves', ({ size, options }) => {
  describe.each(LEAVING)('$when', ({ stall, ready }) => {
    it.each(SOURCES)(
      'resolves at once and releases $kind, telling no error',
      async ({ honours }) => {
        const source = new StallingSource(size, stall, honours);
        const seen = await teamAppWhoseClientLeaves(source, 'k', options, {
          ready: ready(source),
          released: () => source.released(),
        });
        expect(seen.settled).toMatchObject({ outcome: 'resolved' });
        expect(seen.settled.afterLeavingMs).toBeLessThan(PROMPT_MS);
        expect(seen.teamErrors).toEqual([]);
        expect(seen.warnings).toEqual([]);
      },
    );
  });

  it.each(SOURCES)(
    'mid-body, has resolved and releases $kind, telling no error',
    async ({ honours }) => {
      const source = new StallingSource(size, 'body', honours);
      const seen = await teamAppWhoseClientLeaves(source, 'k', options, {
        ready: (received) => received > 0,
        released: () => source.released(),
      });
      expect(seen.settled.outcome).toBe('resolved');
      expect(seen.teamErrors).toEqual([]);
      expect(seen.warnings).toEqual([]);
    },
  );
});

describe('sendObject from a real upstream, when the client leaves before the first byte', () => {
  let upstream: Awaited<ReturnType<typeof stallingUpstream>>;

  beforeAll(async () => {
    upstream = await stallingUpstream();
  });

  afterAll(() => upstream?.close());

  it.each([
    { path: 'coalesced (the default)', size: 100 * KIB, sharing: {} },
    { path: 'above the coalescing limit', size: 10 * MIB, sharing: {} },
    { path: 'with coalescing off', size: 100 * KIB, sharing: { coalesceMaxBytes: 0 } },
  ])('resolves at once and ends the upstream request: $path', async ({ size, sharing }) => {
    const source = new AnsweredReads(createUpstreamSource({ baseUrl: upstream.url }));
    const seen = await teamAppWhoseClientLeaves(
      source,
      `/${size}`,
      { sharing },
      {
        ready: () => source.answered > 0,
        released: () => upstream.open() === 0,
      },
    );
    expect(seen.settled).toMatchObject({ outcome: 'resolved' });
    expect(seen.settled.afterLeavingMs).toBeLessThan(PROMPT_MS);
    expect(seen.teamErrors).toEqual([]);
    expect(seen.warnings).toEqual([]);
  });
});

describe('a client of the service that leaves after the upstream answered, before the first byte', () => {
  let upstream: Awaited<ReturnType<typeof stallingUpstream>>;
  const attempts = recordChannel('streamgate:source:attempt', (message) => {
    return message as SourceAttemptMessage;
  });

  beforeAll(async () => {
    upstream = await stallingUpstream();
  });

  afterAll(() => upstream?.close());

  it.each<{ path: string; size: number; env: Record<string, string> }>([
    { path: 'coalesced (the default)', size: 100 * KIB, env: {} },
    { path: 'above the coalescing limit', size: 10 * MIB, env: {} },
    { path: 'with coalescing off', size: 100 * KIB, env: { COALESCE_MAX_BYTES: '0' } },
  ])(
    'is logged at once as client_aborted (499), nothing at warn or above: $path',
    async ({ size, env }) => {
      const logs = new LogCapture();
      const gateway = await startGateway(
        {
          UPSTREAM_BASE_URL: upstream.url,
          UPSTREAM_PATH_TEMPLATE: '/{size}',
          LOG_LEVEL: 'info',
          ...env,
        },
        {},
        { logStream: logs },
      );
      try {
        const answered = () =>
          attempts.some((attempt) => attempt.operation === 'read' && attempt.outcome === 'ok');
        await leaveOnceReady(`${gateway.url}/tasks/1/bytes/${size}`, answered);
        await waitFor(() => logs.accessLines().length > 0, 'the access-log line', PROMPT_MS);
        await waitFor(() => upstream.open() === 0, 'the upstream request to end', PROMPT_MS);
        expect(logs.accessLines()).toMatchObject([{ status: 499, outcome: 'client_aborted' }]);
        expect(logs.lines().filter((line) => Number(line.level) >= 40)).toEqual([]);
      } finally {
        await gateway.close();
      }
    },
  );
});
