import net from 'node:net';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, patternSha256, patternStream } from '../dev/pattern.js';
import { type LocalS3, startLocalS3 } from '../dev/s3-server.js';
import { type RunningGateway, s3Env, startGateway } from './helpers/gateway.js';
import { download, waitFor } from './helpers/http-client.js';
import { watchInFlight } from './helpers/in-flight.js';
import { type Origins, startOrigins } from './helpers/origins.js';

const OBJECT = 64 * 1024 * 1024;

describe('a client that disconnects mid-download', () => {
  let origins: Origins;
  let gateway: RunningGateway;

  beforeAll(async () => {
    origins = await startOrigins();
    await origins.s3.put('images', 'test/1/image.jpg', patternStream(0, OBJECT), OBJECT);
    gateway = await startGateway({ ...origins.env, UPSTREAM_PATH_TEMPLATE: '/range/{size}' });
  });

  afterAll(async () => {
    await gateway?.close();
    await origins?.stop();
  });

  it('ends the storage request at once', async () => {
    const storage = watchInFlight(origins.s3.httpServer);
    const got = await download(`${gateway.url}/tasks/1/image`, { abortAfterBytes: 1024 * 1024 });
    expect(got.complete).toBe(false);
    expect(got.length).toBeLessThan(OBJECT);
    await storage.settled(2_000);
    expect(storage.count()).toBe(0);
  });

  it('ends the upstream request at once', async () => {
    const source = watchInFlight(origins.upstream.server);
    const got = await download(`${gateway.url}/tasks/1/bytes/${OBJECT}`, {
      abortAfterBytes: 1024 * 1024,
    });
    expect(got.complete).toBe(false);
    expect(got.length).toBeLessThan(OBJECT);
    await source.settled(2_000);
    expect(source.count()).toBe(0);
  });
});

const MIB = 1024 * 1024;
const SIZE = 4 * MIB;
const POOL = 8;
const ABORTS = 1_000;
const FULL = 50;
const WORKERS = 16;

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** mulberry32: the same "random" offsets on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Abort {
  head: string;
  /** Destroy the socket once this many response bytes arrived; undefined: after `delayMs`. */
  afterBytes?: number;
  delayMs?: number;
}

/** Half uniform, half uniform on a log scale: aborts early in the body are as common as late. */
function offset(next: () => number, size: number): number {
  const scaled = next() < 0.5 ? next() * size : size ** next();
  return Math.max(1, Math.floor(scaled));
}

function plan(next: () => number): Abort {
  const roll = next();
  const get = (range?: string) =>
    `GET /tasks/1/image HTTP/1.1\r\nhost: gw\r\n${range ? `range: ${range}\r\n` : ''}\r\n`;
  if (roll < 0.75) return { head: get(), afterBytes: offset(next, SIZE) };
  if (roll < 0.85) {
    const start = Math.floor(next() * (SIZE / 2));
    return { head: get(`bytes=${start}-`), afterBytes: offset(next, SIZE / 2) };
  }
  if (roll < 0.95) return { head: get(), delayMs: Math.floor(next() * 6) };
  const head = 'HEAD /tasks/1/image HTTP/1.1\r\nhost: gw\r\n\r\n';
  return next() < 0.5 ? { head, delayMs: Math.floor(next() * 3) } : { head, afterBytes: 1 };
}

/** Sends one request on a raw socket and destroys the socket as `abort` says. */
function abortOne(port: number, abort: Abort): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = 0;
    let statusLine = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`abort never completed: ${JSON.stringify(abort)} got ${statusLine}`));
    }, 10_000);
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.write(abort.head);
      if (abort.delayMs !== undefined) setTimeout(() => socket.destroy(), abort.delayMs);
    });
    socket.on('data', (chunk: Buffer) => {
      if (received === 0) statusLine = chunk.toString('latin1', 0, 12);
      received += chunk.length;
      if (abort.afterBytes !== undefined && received >= abort.afterBytes) socket.destroy();
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(statusLine);
    });
  });
}

/**
 * What the heap and buffers of the whole process (gateway, storage and clients alike) hold after
 * garbage collection. Not its RSS: on Node 24 the memory outside V8's heap of this process, and
 * of a gateway run alone, rises over the first thousand downloads or so to a plateau (a
 * gateway alone: from 112 to 146 MiB over 1,600 full downloads, then flat over 400 more),
 * whatever was released. A leak of a socket or stream shows here and as a socket left open
 * below.
 */
function heldBytes(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Sockets of this process still open, at either end of any connection. */
function openSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
}

describe(`${ABORTS} aborted downloads with a pool of ${POOL} storage sockets`, () => {
  let s3: LocalS3;
  let gateway: RunningGateway;
  let port: number;
  const storage = { open: 0, peak: 0, gets: 0 };

  beforeAll(async () => {
    s3 = await startLocalS3(['images']);
    await s3.put('images', 'test/1/image.jpg', patternBytes(0, SIZE));
    s3.httpServer.on('connection', (socket: net.Socket) => {
      storage.open++;
      storage.peak = Math.max(storage.peak, storage.open);
      socket.once('close', () => {
        storage.open--;
      });
    });
    s3.httpServer.on('request', (request) => {
      if (request.method === 'GET') storage.gets++;
    });
    gateway = await startGateway({
      ...s3Env(s3),
      S3_IMAGE_BUCKET: 'images',
      S3_MAX_SOCKETS: String(POOL),
      // A slot that an aborted download never gave back would show as 503s below.
      MAX_CONCURRENT_STREAMS: String(FULL + WORKERS + 14),
    });
    port = Number(new URL(gateway.url).port);
  });

  afterAll(async () => {
    await gateway?.close();
    await s3?.stop();
  });

  it(`${ABORTS} aborted downloads leave no socket, slot or memory behind`, async () => {
    const whole = patternSha256(0, SIZE);
    const fullDownloads = async () => {
      const full = await Promise.all(
        Array.from({ length: FULL }, () =>
          download(`${gateway.url}/tasks/1/image`, { timeoutMs: 40_000 }),
        ),
      );
      for (const got of full) {
        expect(got.status).toBe(200);
        expect(got.complete).toBe(true);
        expect(got.sha256).toBe(whole);
      }
    };
    const abortAll = async (seed: number, count: number) => {
      const next = random(seed);
      const aborts = Array.from({ length: count }, () => plan(next));
      const statuses = new Set<string>();
      let taken = 0;
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          while (taken < aborts.length)
            statuses.add(await abortOne(port, aborts[taken++] as Abort));
        }),
      );
      return statuses;
    };
    // Both kinds of load once before measuring, so that what they need once (buffers, pooled
    // sockets, compiled code) is not counted as growth.
    await fullDownloads();
    await abortAll(1, 100);
    const before = heldBytes();
    Object.assign(storage, { peak: storage.open, gets: 0 });

    const statuses = await abortAll(20_240_601, ABORTS);
    // Nothing but success, or nothing at all for requests dropped before their answer.
    for (const status of statuses) expect(status).toMatch(/^(|HTTP\/1\.1 20[06])$/);

    // At once, without letting the pool settle: a leaked pooled socket would make these hang.
    await fullDownloads();

    await waitFor(() => storage.open <= POOL, `at most ${POOL} sockets to the storage`);
    expect(storage.open).toBeLessThanOrEqual(POOL);
    // Every client connection closed: what stays is the pool's, both its ends in this process.
    await waitFor(() => openSockets() <= 2 * POOL, "no socket open but the pool's");
    // A socket is counted here until its close reaches the storage, so allow some overlap.
    expect(storage.peak).toBeLessThanOrEqual(2 * POOL);
    expect(storage.gets).toBeLessThanOrEqual(ABORTS + FULL);
    // 16 KiB per abort would show; measured: -4 to +5 MiB on Node 20 and 24.
    expect(heldBytes() - before).toBeLessThan(16 * MIB);
  }, 90_000);
});
