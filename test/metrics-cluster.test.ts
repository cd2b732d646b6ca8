import { spawn } from 'node:child_process';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes } from '../dev/pattern.js';
import { download } from './helpers/http-client.js';
import {
  killAllMains,
  listeningPids,
  pidServing,
  type RunningMain,
  startMain,
} from './helpers/main-process.js';
import { parseMetrics, sampleValue } from './helpers/observe.js';
import { type TempStore, tempStore } from './helpers/store.js';

const SIZE = 100_000;
/** Large enough to stay in flight while its client does not read. */
const BIG = 256 * 1024 * 1024;
const DOWNLOADS = 6;
/** Below the hook's timeout. */
const READY_TIMEOUT_MS = 45_000;

interface Cluster {
  url: string;
  stop(): Promise<void>;
}

/** The two-worker cluster of test/fixtures/metrics-cluster.ts, once both workers listen. */
async function startCluster(env: Record<string, string>): Promise<Cluster> {
  const primary = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/metrics-cluster.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    // A cluster that never gets ready is killed, not left behind when the hook times out.
    const timer = setTimeout(() => {
      primary.kill('SIGKILL');
      reject(new Error('the cluster was not ready in time'));
    }, READY_TIMEOUT_MS);
    primary.once('exit', () => clearTimeout(timer));
    let out = '';
    primary.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /READY (\d+)/.exec(out);
      if (ready?.[1]) {
        clearTimeout(timer);
        resolve(ready[1]);
      }
    });
    primary.once('exit', (code) => reject(new Error(`the cluster exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (primary.exitCode !== null) return;
      const exited = new Promise((resolve) => primary.once('exit', resolve));
      primary.kill('SIGTERM');
      await exited;
    },
  };
}

let store: TempStore;
let cluster: Cluster;

beforeAll(async () => {
  store = await tempStore('metrics-cluster');
  await store.put('images', 'test/1/image.jpg', patternBytes(0, SIZE));
  await store.putSparse('images', 'test/2/image.jpg', BIG);
  cluster = await startCluster(store.env);
});

afterAll(async () => {
  await cluster?.stop();
  await store?.remove();
});

describe('GET /metrics under a cluster', () => {
  it('sums the counters of every worker, whichever worker the scrape lands on', async () => {
    const servedBy = new Set<string>();
    for (let i = 0; i < DOWNLOADS; i++) {
      const got = await download(`${cluster.url}/tasks/1/image`);
      expect(got.status).toBe(200);
      servedBy.add(String(got.headers['x-worker']));
    }
    expect(servedBy.size).toBe(2);

    const scrapedBy = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${cluster.url}/metrics`, { headers: { connection: 'close' } });
      expect(response.status).toBe(200);
      scrapedBy.add(String(response.headers.get('x-worker')));
      const samples = parseMetrics(await response.text());
      const ok = { route: 'getTaskImage', method: 'GET', status: '200' };
      expect(sampleValue(samples, 'streamgate_requests_total', ok)).toBe(DOWNLOADS);
      const image = { route: 'getTaskImage' };
      expect(sampleValue(samples, 'streamgate_response_bytes_total', image)).toBe(DOWNLOADS * SIZE);
      const storage = { source: 'storage' };
      expect(sampleValue(samples, 'streamgate_source_bytes_total', storage)).toBe(DOWNLOADS * SIZE);
      const complete = { route: 'getTaskImage', outcome: 'complete' };
      expect(sampleValue(samples, 'streamgate_streams_total', complete)).toBe(DOWNLOADS);
      expect(sampleValue(samples, 'streamgate_request_duration_seconds_count', image)).toBe(
        DOWNLOADS,
      );
    }
    expect(scrapedBy.size).toBe(2);
  });
});

/** Below the 5 s a scrape waited for a worker that could not answer. */
const PROMPT_MS = 2_000;
const IMAGES_SERVED = { route: 'getTaskImage', method: 'GET', status: '200' };

/** A scrape on a new connection, timed. */
async function timedScrape(url: string) {
  const started = performance.now();
  const response = await fetch(`${url}/metrics`, { headers: { connection: 'close' } });
  const text = await response.text();
  const ms = performance.now() - started;
  return { status: response.status, ms, samples: response.ok ? parseMetrics(text) : [] };
}

/** GETs `path` on a new connection; resolves with the pid of the worker that served it. */
function downloadServedBy(main: RunningMain, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(`${main.url}${path}`, { agent: false }, (response) => {
        const localPort = response.socket.localPort ?? -1;
        response.resume();
        response.once('end', () => resolve(pidServing(main, localPort)));
      })
      .once('error', reject);
  });
}

/** GETs `path` and stops reading after its first chunk; resolves with the serving worker. */
function heldDownload(main: RunningMain, path: string) {
  return new Promise<{ pid: Promise<number>; response: http.IncomingMessage }>(
    (resolve, reject) => {
      const request = http.get(`${main.url}${path}`, { agent: false }, (response) => {
        response.once('data', () => response.pause());
        response.on('error', () => {});
        resolve({ pid: pidServing(main, response.socket.localPort ?? -1), response });
      });
      request.once('error', reject);
    },
  );
}

describe('GET /metrics of the real entry point, WORKERS=2', () => {
  afterEach(killAllMains);

  it('answers at once while a worker is still starting, from the workers that are ready', async () => {
    // Resolves as the first worker listens; the primary forks the second only then.
    const main = await startMain({ ...store.env, WORKERS: '2' });
    const scrape = await timedScrape(main.url);
    expect(await listeningPids(main, 1)).toHaveLength(1);
    expect(scrape.status).toBe(200);
    expect(scrape.ms).toBeLessThan(PROMPT_MS);
  });

  it("keeps a dead worker's counters and drops its gauges, then counts its replacement", async () => {
    const main = await startMain({ ...store.env, WORKERS: '2' });
    await listeningPids(main, 2);
    const servedBy = new Set<number>();
    let served = 0;
    // The kernel hands each connection to an idle worker; 50 all to one would be an imbalance.
    while (servedBy.size < 2 && served < 50) {
      servedBy.add(await downloadServedBy(main, '/tasks/1/image'));
      served++;
    }
    expect(servedBy.size).toBe(2);
    const held = await heldDownload(main, '/tasks/2/image');
    const victim = await held.pid;

    const before = await timedScrape(main.url);
    expect(sampleValue(before.samples, 'streamgate_requests_total', IMAGES_SERVED)).toBe(served);
    expect(sampleValue(before.samples, 'streamgate_streams_in_flight')).toBe(1);

    process.kill(victim, 'SIGKILL');
    const whileReplacing = await timedScrape(main.url);
    expect(whileReplacing.status).toBe(200);
    expect(whileReplacing.ms).toBeLessThan(PROMPT_MS);
    const counted = sampleValue(whileReplacing.samples, 'streamgate_requests_total', IMAGES_SERVED);
    expect(counted).toBe(served);
    expect(sampleValue(whileReplacing.samples, 'streamgate_streams_in_flight')).toBe(0);

    await listeningPids(main, 3);
    await download(`${main.url}/tasks/1/image`);
    const after = await timedScrape(main.url);
    expect(sampleValue(after.samples, 'streamgate_requests_total', IMAGES_SERVED)).toBe(served + 1);
    expect(sampleValue(after.samples, 'streamgate_streams_in_flight')).toBe(0);
    held.response.destroy();
  });
});
