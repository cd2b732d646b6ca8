import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternSha256 } from '../dev/pattern.js';
import { type LocalUpstream, startLocalUpstream } from '../dev/upstream-server.js';
import { type RunningGateway, startGateway } from './helpers/gateway.js';
import { type TempStore, tempStore } from './helpers/store.js';

const GIB = 1024 ** 3;
const MIB = 1024 * 1024;
/** The client's pace and how long it reads: about 512 KiB of a 1 GiB object. */
const BYTES_PER_SECOND = 64 * 1024;
const READ_FOR_MS = 8_000;
/**
 * What may sit between source and client: the kernel buffers of two TCP connections (Linux
 * grows a send buffer up to 4 MiB on its own) and the streams' queues. 1/64 of the object.
 */
const WINDOW = 16 * MIB;
/**
 * Growth of the process's heap and buffers allowed while the download runs: 1/40 of the object.
 * Under a loaded machine chunks waiting for collection have shown up to 20 MiB here.
 */
const MEMORY_BOUND = 24 * MIB;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memoryInUse(): number {
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

let store: TempStore;
let upstream: LocalUpstream;
let gateway: RunningGateway;
const upstreamSockets = new Set<Socket>();

/** Bytes the upstream server wrote to the gateway: what the gateway pulled from the source. */
function upstreamBytesWritten(): number {
  let total = 0;
  for (const socket of upstreamSockets) total += socket.bytesWritten;
  return total;
}

beforeAll(async () => {
  store = await tempStore('backpressure');
  await store.putSparse('images', 'test/1/image.jpg', GIB);
  upstream = await startLocalUpstream();
  upstream.server.on('connection', (socket: Socket) => upstreamSockets.add(socket));
  gateway = await startGateway({
    ...store.env,
    UPSTREAM_BASE_URL: upstream.baseUrl,
    UPSTREAM_PATH_TEMPLATE: '/range/{size}',
    // One connection's window; the window of parallel parts is bounded in parallel-parts.test.ts.
    PARALLEL_PARTS: '1',
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.stop();
  await store?.remove();
});

/**
 * Downloads `url` reading about BYTES_PER_SECOND for READ_FOR_MS, then calls `measure` while
 * the response is still open, and only then hangs up.
 */
function readSlowly<T>(
  url: string,
  measure: (delivered: number, sha256: string) => T,
): Promise<{ response: IncomingMessage; result: T }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      const started = Date.now();
      const allowance = () => ((Date.now() - started) * BYTES_PER_SECOND) / 1000;
      const hash = createHash('sha256');
      let delivered = 0;
      response.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        delivered += chunk.length;
        if (delivered >= allowance()) response.pause();
      });
      response.once('error', reject);
      const pacer = setInterval(() => {
        if (Date.now() - started >= READ_FOR_MS) {
          clearInterval(pacer);
          response.pause();
          try {
            resolve({ response, result: measure(delivered, hash.digest('hex')) });
          } catch (error) {
            reject(error);
          } finally {
            response.destroy();
          }
        } else if (delivered < allowance()) response.resume();
      }, 50);
    }).once('error', reject);
  });
}

describe('backpressure: a 64 KiB/s client of a 1 GiB object', () => {
  it('pulls from an HTTP upstream only what the client takes, plus a bounded window', async () => {
    const before = memoryInUse();
    const pulledBefore = upstreamBytesWritten();
    const { response, result } = await readSlowly(
      `${gateway.url}/tasks/1/bytes/${GIB}`,
      (delivered, sha256) => ({
        delivered,
        sha256,
        pulled: upstreamBytesWritten() - pulledBefore,
        grown: memoryInUse() - before,
      }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe(String(GIB));
    expect(result.delivered).toBeGreaterThan(64 * 1024);
    expect(result.sha256).toBe(patternSha256(0, result.delivered));
    expect(result.pulled).toBeGreaterThanOrEqual(result.delivered);
    expect(result.pulled).toBeLessThanOrEqual(result.delivered + WINDOW);
    expect(result.grown).toBeLessThan(MEMORY_BOUND);
  });

  it('reads from the local store only what the client takes, plus a bounded window', async () => {
    // Observe, without changing, the file reads behind fs streams (FileHandle.read).
    const probe = await open(store.file('images', 'test/1/image.jpg'));
    const fileHandle = Object.getPrototypeOf(probe) as {
      read: (...args: unknown[]) => Promise<{ bytesRead: number }>;
    };
    await probe.close();
    const originalRead = fileHandle.read;
    let fileBytesRead = 0;
    fileHandle.read = async function (this: unknown, ...args: unknown[]) {
      const result = await originalRead.apply(this, args);
      fileBytesRead += result.bytesRead;
      return result;
    };
    try {
      const before = memoryInUse();
      const zeros = createHash('sha256');
      const { response, result } = await readSlowly(
        `${gateway.url}/tasks/1/image`,
        (delivered, sha256) => {
          zeros.update(Buffer.alloc(delivered));
          return { delivered, sha256, pulled: fileBytesRead, grown: memoryInUse() - before };
        },
      );
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-length']).toBe(String(GIB));
      expect(result.delivered).toBeGreaterThan(64 * 1024);
      expect(result.sha256).toBe(zeros.digest('hex'));
      expect(result.pulled).toBeGreaterThanOrEqual(result.delivered);
      expect(result.pulled).toBeLessThanOrEqual(result.delivered + WINDOW);
      expect(result.grown).toBeLessThan(MEMORY_BOUND);
    } finally {
      fileHandle.read = originalRead;
    }
  });
});
