import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { Agent, get, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { patternSha256, patternStream, sha256 } from '../dev/pattern.js';
import {
  killAllMains,
  type LogLine,
  listeningPids,
  pidServing,
  processExists,
  type RunningMain,
  startMain,
} from './helpers/main-process.js';

const SIZE = 64 * 1024 * 1024;

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'streamgate-shutdown-'));
  const dir = path.join(dataDir, 'images', 'test', '1');
  await mkdir(dir, { recursive: true });
  await pipeline(
    patternStream(0, SIZE, 1024 * 1024),
    createWriteStream(path.join(dir, 'image.jpg')),
  );
});

afterEach(killAllMains);

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

interface Download {
  response: IncomingMessage;
  /** Settles when the body ends (aborted: false) or the connection dies first (aborted: true). */
  done: Promise<{ bytes: number; sha256: string; aborted: boolean }>;
}

/** GETs `url`, reads `pauseAfter` bytes, then stops reading. */
function slowDownload(url: string, pauseAfter: number, agent?: Agent): Promise<Download> {
  return new Promise((resolve, reject) => {
    get(url, { agent: agent ?? false }, (response) => {
      const hash = createHash('sha256');
      let bytes = 0;
      let paused = false;
      response.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        if (!paused && bytes >= pauseAfter) {
          paused = true;
          response.pause();
          resolve({ response, done });
        }
      });
      const done = finished(response).then(
        () => ({ bytes, sha256: hash.digest('hex'), aborted: false }),
        () => ({ bytes, sha256: '', aborted: true }),
      );
      done.then(() => reject(new Error('download ended before it was paused')));
    }).once('error', reject);
  });
}

/**
 * One request on a new connection: its status, or 'refused' when nothing listens any more (a
 * connection caught in the listening socket's backlog as it closes is reset instead).
 */
function probe(url: string): Promise<number | 'refused'> {
  return new Promise((resolve, reject) => {
    const request = get(`${url}/healthz`, { agent: false, timeout: 5_000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('timeout', () => request.destroy(new Error('probe timed out')));
    request.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET') resolve('refused');
      else reject(error);
    });
  });
}

/** Probes until the server stops taking new work; bounded, so a server that never stops fails. */
async function untilRefusing(url: string): Promise<number | 'refused'> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const answer = await probe(url);
    if (answer !== 200) return answer;
    await sleep(50);
  }
  throw new Error('server still accepting new requests 5 s after SIGTERM');
}

/** A raw connection that sends `bytes` and nothing more; `closed` settles when it ends. */
function openConnection(url: string, bytes: string): { closed: Promise<void> } {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1', () => socket.write(bytes));
  socket.on('error', () => {});
  return { closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

/** The access-log line of the one request made to `url`, once the process's output has ended. */
async function accessLineOf(main: RunningMain, url: string): Promise<LogLine | undefined> {
  if (main.child.stdout !== null) await finished(main.child.stdout);
  const lines = main.logs().filter((line) => line.msg === 'request completed' && line.url === url);
  expect(lines).toHaveLength(1);
  return lines[0];
}

function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms, undefined, { ref: false }).then(() => {
      throw new Error(`${what} did not happen within ${ms} ms`);
    }),
  ]);
}

describe.each(['1', '2'])('graceful shutdown of the real entry point, WORKERS=%s', (workers) => {
  async function start(graceMs: number): Promise<RunningMain> {
    const env = { WORKERS: workers, DATA_DIR: dataDir, SHUTDOWN_GRACE_MS: String(graceMs) };
    const main = await startMain(env);
    await listeningPids(main, Number(workers));
    return main;
  }

  it('on SIGTERM stops taking new requests, finishes the download in flight, exits 0', async () => {
    const main = await start(30_000);
    expect(await probe(main.url)).toBe(200);
    // A keep-alive client leaves its connection open after the body: exit must not wait for it.
    const agent = new Agent({ keepAlive: true });
    const download = await slowDownload(`${main.url}/tasks/1/image`, 1024 * 1024, agent);
    expect(download.response.statusCode).toBe(200);

    main.child.kill('SIGTERM');
    expect(['refused', 503]).toContain(await untilRefusing(main.url));
    expect(main.child.exitCode).toBeNull();

    download.response.resume();
    const body = await withinMs(download.done, 20_000, 'the download');
    expect(body).toEqual({ bytes: SIZE, sha256: patternSha256(0, SIZE), aborted: false });
    expect(await withinMs(main.exited, 10_000, 'exit after the last download')).toBe(0);
    for (const pid of await listeningPids(main, Number(workers))) {
      expect(processExists(pid)).toBe(false);
    }
    agent.destroy();
  });

  it('exits 1 at once on a second signal, and logs why', async () => {
    const main = await start(30_000);
    const download = await slowDownload(`${main.url}/tasks/1/image`, 1024 * 1024);
    main.child.kill('SIGTERM');
    await main.waitForLog((line) => line.msg.startsWith('shutting down'), 'the drain');
    main.child.kill('SIGTERM');
    expect(await withinMs(main.exited, 5_000, 'exit on the second signal')).toBe(1);
    if (main.child.stdout !== null) await finished(main.child.stdout);
    const why = main.logs().filter((line) => line.msg.startsWith('second signal:'));
    expect(why).toHaveLength(1);
    expect(why[0]).toMatchObject({ level: 40, signal: 'SIGTERM' });
    download.response.destroy();
  });

  it('on SIGINT behaves the same', async () => {
    const main = await start(30_000);
    const download = await slowDownload(`${main.url}/tasks/1/image`, 1024 * 1024);
    main.child.kill('SIGINT');
    expect(['refused', 503]).toContain(await untilRefusing(main.url));
    download.response.resume();
    const body = await withinMs(download.done, 20_000, 'the download');
    expect(body).toEqual({ bytes: SIZE, sha256: patternSha256(0, SIZE), aborted: false });
    expect(await withinMs(main.exited, 10_000, 'exit after the last download')).toBe(0);
  });

  it('answers a request that arrives on a busy connection while draining with a 503', async () => {
    const main = await start(30_000);
    const { port } = new URL(main.url);
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    let received = 0;
    const started = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received >= 1024 * 1024 && received - chunk.length < 1024 * 1024) {
          socket.pause();
          resolve();
        }
      });
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /tasks/1/image HTTP/1.1\r\nhost: gateway\r\n\r\n');
    await started;

    main.child.kill('SIGTERM');
    expect(['refused', 503]).toContain(await untilRefusing(main.url));
    socket.write('GET /healthz HTTP/1.1\r\nhost: gateway\r\n\r\n');
    socket.resume();
    await withinMs(closed, 20_000, 'the end of the connection');

    const wire = Buffer.concat(chunks);
    const firstHead = wire.indexOf('\r\n\r\n') + 4;
    expect(wire.subarray(0, 15).toString()).toBe('HTTP/1.1 200 OK');
    expect(sha256(wire.subarray(firstHead, firstHead + SIZE))).toBe(patternSha256(0, SIZE));
    const second = wire.subarray(firstHead + SIZE).toString('latin1');
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4))).toEqual({
      detail: 'Server is shutting down',
    });
    expect(await withinMs(main.exited, 10_000, 'exit after the last download')).toBe(0);
  });

  it('cuts a download still running at the deadline, then exits 0', async () => {
    const main = await start(500);
    const download = await slowDownload(`${main.url}/tasks/1/image`, 1024 * 1024);

    main.child.kill('SIGTERM');
    // The client reads nothing until the process is gone, so the deadline must cut it.
    expect(await withinMs(main.exited, 10_000, 'exit after the grace period')).toBe(0);
    download.response.resume();
    const body = await withinMs(download.done, 10_000, 'the end of the cut download');
    expect(body.aborted).toBe(true);
    expect(body.bytes).toBeLessThan(SIZE);
    const line = await accessLineOf(main, '/tasks/1/image');
    expect(line).toMatchObject({ status: 200, outcome: 'cut_at_shutdown' });
    expect(line?.bytes).toBeGreaterThan(0);
    expect(line?.bytes).toBeLessThan(SIZE);
  });

  it('logs a client that leaves while draining as client_aborted, not as cut', async () => {
    const main = await start(30_000);
    const download = await slowDownload(`${main.url}/tasks/1/image`, 1024 * 1024);
    main.child.kill('SIGTERM');
    expect(['refused', 503]).toContain(await untilRefusing(main.url));
    download.response.destroy();
    expect(await withinMs(main.exited, 10_000, 'exit after the client left')).toBe(0);
    expect(await accessLineOf(main, '/tasks/1/image')).toMatchObject({
      status: 200,
      outcome: 'client_aborted',
    });
  });

  it('exits at once past connections that sent no request, or half a request line', async () => {
    const main = await start(20_000);
    const silent = openConnection(main.url, '');
    const halfSent = openConnection(main.url, 'GET /tasks/1/ima');
    // Time for the server to accept them, or SIGTERM would find them still in the backlog.
    await sleep(300);

    main.child.kill('SIGTERM');
    expect(await withinMs(main.exited, 5_000, 'exit past the connections')).toBe(0);
    await withinMs(Promise.all([silent.closed, halfSent.closed]), 1_000, 'their end');
  });
});

describe('graceful shutdown of a cluster', () => {
  it('finishes the downloads in flight on every worker, refuses new connections, exits 0', async () => {
    const main = await startMain({ WORKERS: '2', DATA_DIR: dataDir, SHUTDOWN_GRACE_MS: '30000' });
    const workerPids = await listeningPids(main, 2);
    const downloads: Download[] = [];
    const servedBy = new Set<number>();
    // Connections are handed to the workers in turn, so two downloads usually reach both.
    while (servedBy.size < 2 && downloads.length < 8) {
      const download = await slowDownload(`${main.url}/tasks/1/image`, 1024 * 1024);
      downloads.push(download);
      servedBy.add(await pidServing(main, download.response.socket.localPort ?? -1));
    }
    expect([...servedBy].sort(byNumber)).toEqual([...workerPids].sort(byNumber));

    main.child.kill('SIGTERM');
    expect(['refused', 503]).toContain(await untilRefusing(main.url));
    expect(main.child.exitCode).toBeNull();
    for (const download of downloads) download.response.resume();
    for (const download of downloads) {
      const body = await withinMs(download.done, 20_000, 'a download');
      expect(body).toEqual({ bytes: SIZE, sha256: patternSha256(0, SIZE), aborted: false });
    }
    expect(await withinMs(main.exited, 10_000, 'exit after the last download')).toBe(0);
    for (const pid of workerPids) expect(processExists(pid)).toBe(false);
  });
});

function byNumber(a: number, b: number): number {
  return a - b;
}
