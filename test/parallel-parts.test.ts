import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { patternSha256, patternStream } from '../dev/pattern.js';
import type { PartFetchedMessage } from '../src/stream/part-events.js';
import { type ProxiedRequest, sequence } from './helpers/fault-proxy.js';
import { FaultStack } from './helpers/fault-stack.js';
import { type RunningGateway, startGateway } from './helpers/gateway.js';
import { download } from './helpers/http-client.js';
import { watchInFlight } from './helpers/in-flight.js';
import { tempStore } from './helpers/store.js';

const MIB = 1024 * 1024;
/** The large object: 25 parts of 8 MiB. */
const LARGE = 200 * MIB;
const LARGE_SHA = patternSha256(0, LARGE);
/** The small object, in 6 parts of 4 MiB under the fault tests' settings. */
const SMALL = 24 * MIB;
const SMALL_SHA = patternSha256(0, SMALL);
const SMALL_PARTS = { PART_SIZE: String(4 * MIB), PARALLEL_MIN_BYTES: String(MIB) };
const LARGE_URL = '/tasks/1/image';
const SMALL_URL = '/tasks/2/image';
const SMALL_KEY = '/images/test/2/image.jpg';

let stack: FaultStack;
let largeEtag: string;
let smallEtag: string;

function gateway(env: Record<string, string>): Promise<RunningGateway> {
  return stack.gateway({ IDLE_TIMEOUT_MS: '2000', ...env });
}

/** The GETs that asked for `range` (`bytes=start-end`). */
function asked(range: string, path = SMALL_KEY): ProxiedRequest[] {
  return stack.s3Proxy.gets(path).filter((request) => request.headers.range === range);
}

/**
 * Downloads `url`, sampling every 20 ms how far the storage proxy's forwarded bytes run ahead of
 * what the client has received: what the gateway holds, plus what the sockets between hold.
 */
async function timedDownload(url: string) {
  let received = 0;
  let mostAhead = 0;
  const sampler = setInterval(() => {
    mostAhead = Math.max(mostAhead, stack.s3Proxy.bytesForwarded - received);
  }, 20);
  const started = performance.now();
  try {
    const got = await download(url, {
      timeoutMs: 40_000,
      onProgress: (bytes) => {
        received = bytes;
      },
    });
    return { got, ms: performance.now() - started, mostAhead };
  } finally {
    clearInterval(sampler);
  }
}

beforeAll(async () => {
  stack = await FaultStack.start();
  largeEtag = await stack.s3.put('images', 'test/1/image.jpg', patternStream(0, LARGE, MIB), LARGE);
  smallEtag = await stack.s3.put('images', 'test/2/image.jpg', patternStream(0, SMALL), SMALL);
}, 60_000);

afterEach(() => {
  stack.s3Proxy.bytesPerSecond = undefined;
  return stack.reset();
});

afterAll(() => stack?.stop());

describe('parallel ranged parts through a rate-capped origin', () => {
  it('200 MiB over 4 connections is at least 3x faster than over 1, byte-identical, within its memory bound', async () => {
    // Low enough that four connections stay well below what this shared machine can relay.
    stack.s3Proxy.bytesPerSecond = 10 * MIB;
    const one = await gateway({ PARALLEL_PARTS: '1' });
    const four = await gateway({ PARALLEL_PARTS: '4' });

    const single = await timedDownload(`${one.url}${LARGE_URL}`);
    const singleGets = stack.s3Proxy.gets().length;
    stack.s3Proxy.resetCounters();
    const parallel = await timedDownload(`${four.url}${LARGE_URL}`);

    for (const { got } of [single, parallel]) {
      expect(got.status).toBe(200);
      expect(got.headers['content-length']).toBe(String(LARGE));
      expect(got.complete).toBe(true);
      expect(got.sha256).toBe(LARGE_SHA);
    }
    expect(singleGets).toBe(1);
    // The first part comes from the plain GET; the other 24 are ranged, each with If-Match.
    const [first, ...parts] = stack.s3Proxy.gets();
    expect(first?.headers.range).toBeUndefined();
    expect(parts).toHaveLength(24);
    for (const part of parts) expect(part.headers['if-match']).toBe(largeEtag);
    expect(single.ms / parallel.ms).toBeGreaterThanOrEqual(3);
    // Four parts of 8 MiB in flight, and what the sockets hold besides.
    expect(parallel.mostAhead).toBeGreaterThan(8 * MIB);
    expect(parallel.mostAhead).toBeLessThan(4 * 8 * MIB + 16 * MIB);
  }, 60_000);
});

describe('a parallel download with faults', () => {
  it('resumes a part cut mid-way within that part, with If-Match', async () => {
    const { url } = await gateway(SMALL_PARTS);
    const third = { start: 8 * MIB, end: 12 * MIB - 1 };
    stack.s3Proxy.rule = sequence(
      [{ type: 'cut', afterBytes: MIB + 17 }],
      (request) => request.headers.range === `bytes=${third.start}-${third.end}`,
    );

    const got = await download(`${url}${SMALL_URL}`);

    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(got.sha256).toBe(SMALL_SHA);
    const resumed = stack.s3Proxy
      .gets(SMALL_KEY)
      .filter((request) => request.headers.range?.endsWith(`-${third.end}`))
      .slice(1);
    expect(resumed).toHaveLength(1);
    const start = Number(/^bytes=(\d+)-/.exec(resumed[0]?.headers.range ?? '')?.[1]);
    // The cut counts the response head too, so fewer body bytes than MIB + 17 arrived.
    expect(start).toBeGreaterThan(third.start);
    expect(start).toBeLessThan(third.start + MIB + 17);
    expect(resumed[0]?.headers['if-match']).toBe(smallEtag);
  });

  it('aborts the response when a part cannot be resumed', async () => {
    const { url } = await gateway({ ...SMALL_PARTS, RESUME_ATTEMPTS: '0' });
    const storage = watchInFlight(stack.s3.httpServer);
    stack.s3Proxy.rule = sequence(
      [{ type: 'cut', afterBytes: MIB }],
      (request) => request.headers.range === `bytes=${8 * MIB}-${12 * MIB - 1}`,
    );

    const got = await download(`${url}${SMALL_URL}`);

    expect(got.status).toBe(200);
    expect(got.complete).toBe(false);
    expect(got.length).toBeLessThan(SMALL);
    await storage.settled(3_000);
  });

  it('aborts the response when a later part finds another version of the object', async () => {
    const { url } = await gateway(SMALL_PARTS);
    stack.s3Proxy.rule = sequence(
      [{ type: 'status', status: 412, code: 'PreconditionFailed' }],
      (request) => request.headers.range === `bytes=${4 * MIB}-${8 * MIB - 1}`,
    );

    const got = await download(`${url}${SMALL_URL}`);

    expect(got.complete).toBe(false);
    expect(got.length).toBeLessThanOrEqual(4 * MIB);
  });

  it('a client that leaves ends every part request at once', async () => {
    // Slower than the client, so the whole window opens; slow enough that every part is still
    // arriving when the client leaves.
    stack.s3Proxy.bytesPerSecond = 4 * MIB;
    const { url } = await gateway(SMALL_PARTS);
    const storage = watchInFlight(stack.s3.httpServer);
    const getsBefore = stack.s3Proxy.gets(SMALL_KEY).length;
    let peak = 0;
    const watch = setInterval(() => {
      peak = Math.max(peak, storage.count());
    }, 5);

    const got = await download(`${url}${SMALL_URL}`, { abortAfterBytes: 2 * MIB });
    clearInterval(watch);

    expect(got.complete).toBe(false);
    // The first part and the three after it (the storage may finish writing a part into the
    // proxy's socket before the proxy forwards it, so its own count can show fewer at once).
    expect(stack.s3Proxy.gets(SMALL_KEY).length - getsBefore).toBe(4);
    expect(peak).toBeGreaterThanOrEqual(2);
    await storage.settled(2_000);
    expect(storage.count()).toBe(0);
  });
});

describe('a slow client', () => {
  it('holds the bytes fetched to the window of parts ahead of what it read', async () => {
    const { url } = await gateway({});
    let read = 0;
    let ahead = 0;
    const got = await new Promise<{ status: number; sha: string }>((resolve, reject) => {
      http
        .get(`${url}${LARGE_URL}`, { agent: false }, (response) => {
          const sha = createHash('sha256');
          let paused = false;
          response.on('data', (chunk: Buffer) => {
            sha.update(chunk);
            read += chunk.length;
            if (!paused && read >= 16 * MIB) {
              paused = true;
              response.pause();
              setTimeout(() => {
                ahead = stack.s3Proxy.bytesForwarded - read;
                response.resume();
              }, 1_500);
            }
          });
          response.once('end', () =>
            resolve({ status: response.statusCode ?? 0, sha: sha.digest('hex') }),
          );
          response.once('error', reject);
        })
        .once('error', reject);
    });

    expect(got.status).toBe(200);
    expect(got.sha).toBe(LARGE_SHA);
    expect(read).toBe(LARGE);
    // Four parts of 8 MiB, plus what socket buffers on both sides of the gateway hold.
    expect(ahead).toBeGreaterThan(0);
    expect(ahead).toBeLessThan(4 * 8 * MIB + 32 * MIB);
  }, 30_000);
});

describe('the parts event', () => {
  it('is published once per part, with its bytes and resumes', async () => {
    const { url } = await gateway(SMALL_PARTS);
    stack.s3Proxy.rule = sequence(
      [{ type: 'reset', afterBytes: MIB }],
      (request) => request.headers.range === `bytes=${4 * MIB}-${8 * MIB - 1}`,
    );
    const seen: PartFetchedMessage[] = [];
    const listener = (message: unknown) => seen.push(message as PartFetchedMessage);
    subscribe('streamgate:parts', listener);
    try {
      const got = await download(`${url}${SMALL_URL}`);
      expect(got.sha256).toBe(SMALL_SHA);
    } finally {
      unsubscribe('streamgate:parts', listener);
    }

    expect(seen.map((part) => part.range.start)).toEqual([0, 4, 8, 12, 16, 20].map((n) => n * MIB));
    expect(seen.every((part) => part.bytes === 4 * MIB && part.key === 'test/2/image.jpg')).toBe(
      true,
    );
    expect(seen.map((part) => part.resumed)).toEqual([0, 1, 0, 0, 0, 0]);
  });
});

describe('bodies that stay on one connection', () => {
  it('an object below PARALLEL_MIN_BYTES', async () => {
    const { url } = await gateway({ PART_SIZE: String(4 * MIB) });
    const got = await download(`${url}${SMALL_URL}`);
    expect(got.sha256).toBe(SMALL_SHA);
    expect(stack.s3Proxy.gets(SMALL_KEY)).toHaveLength(1);
  });

  it('a Range request in parts keeps its range and status', async () => {
    const { url } = await gateway(SMALL_PARTS);
    const [from, to] = [3 * MIB + 5, 19 * MIB + 3];
    const got = await download(`${url}${SMALL_URL}`, { headers: { range: `bytes=${from}-${to}` } });
    expect(got.status).toBe(206);
    expect(got.headers['content-range']).toBe(`bytes ${from}-${to}/${SMALL}`);
    expect(got.sha256).toBe(patternSha256(from, to + 1));
    expect(asked(`bytes=${from + 4 * MIB}-${from + 8 * MIB - 1}`)).toHaveLength(1);
  });

  it('an object of the local store, however large: one file read is as fast as four', async () => {
    const store = await tempStore('parts');
    await store.put('images', 'test/2/image.jpg', patternStream(0, SMALL));
    const local = await startGateway({ ...store.env, ...SMALL_PARTS, PARALLEL_PARTS: '4' });
    const seen: unknown[] = [];
    const listener = (message: unknown) => seen.push(message);
    subscribe('streamgate:parts', listener);
    try {
      const got = await download(`${local.url}${SMALL_URL}`);
      expect(got.status).toBe(200);
      expect(got.sha256).toBe(SMALL_SHA);
      expect(seen).toEqual([]);
    } finally {
      unsubscribe('streamgate:parts', listener);
      await local.close();
      await store.remove();
    }
  });
});
