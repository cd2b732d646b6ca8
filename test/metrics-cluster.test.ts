import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes } from '../dev/pattern.js';
import { download } from './helpers/http-client.js';
import { parseMetrics, sampleValue } from './helpers/observe.js';
import { type TempStore, tempStore } from './helpers/store.js';

const SIZE = 100_000;
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
