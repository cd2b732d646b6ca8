import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchConfig } from '../../bench/config.js';
import type { RunningPath } from '../../bench/paths.js';
import { downloadsInRounds, medianIdle, smallRequestsInRounds } from '../../bench/workloads.js';
import { patternBytes } from '../../dev/pattern.js';

const BYTES = 64 * 1024;
const servers: http.Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/** A path whose server logs each request under `name` and answers with `answer(n)`, n from 1. */
async function path(
  name: string,
  log: string[],
  answer: (n: number) => Buffer | 'truncate' | 'missing',
): Promise<RunningPath> {
  let count = 0;
  const server = http.createServer((_request, response) => {
    log.push(name);
    const body = answer(++count);
    if (body === 'missing') {
      response.writeHead(404).end();
      return;
    }
    if (body === 'truncate') {
      response.writeHead(200, { 'content-length': BYTES });
      response.end(patternBytes(0, BYTES / 2));
      response.socket?.destroy();
      return;
    }
    response.end(body);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (bytes) => `http://127.0.0.1:${port}/${bytes}`,
    headers: {},
    root: undefined,
    stop: async () => {},
  };
}

const quiet = () => {};

describe('downloadsInRounds', () => {
  it('checks each path once, then takes one download per path per round in a rotated order', async () => {
    const log: string[] = [];
    const paths = await Promise.all(
      ['a', 'b', 'c'].map((name) => path(name, log, () => patternBytes(0, BYTES))),
    );
    const results = await downloadsInRounds(paths, BYTES, 3, quiet);
    expect(log).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
    for (const result of results) {
      expect(result).not.toBeInstanceOf(Error);
      expect(result).toMatchObject({ bytes: BYTES, runs: 3, cpuSecondsPerGiB: undefined });
    }
  });

  it('fails a path whose bytes are wrong at the check, and measures the others', async () => {
    const log: string[] = [];
    const wrong = Buffer.alloc(BYTES, 1);
    const paths = [
      await path('good', log, () => patternBytes(0, BYTES)),
      await path('wrong', log, () => wrong),
    ];
    const [good, bad] = await downloadsInRounds(paths, BYTES, 2, quiet);
    expect(bad).toBeInstanceOf(Error);
    expect((bad as Error).message).toMatch(/wrong bytes \(sha256\)/);
    expect(good).toMatchObject({ runs: 2 });
    expect(log.filter((name) => name === 'wrong')).toHaveLength(1);
  });

  it('leaves a path that fails mid-run out of the later rounds', async () => {
    const log: string[] = [];
    const paths = [
      await path('steady', log, () => patternBytes(0, BYTES)),
      await path('flaky', log, (n) => (n === 3 ? 'truncate' : patternBytes(0, BYTES))),
    ];
    const [steady, flaky] = await downloadsInRounds(paths, BYTES, 4, quiet);
    expect(flaky).toBeInstanceOf(Error);
    expect(steady).toMatchObject({ runs: 4 });
    // The check, one round, then the download that fails, and nothing after it.
    expect(log.filter((name) => name === 'flaky')).toHaveLength(3);
  });
});

const smallConfig: BenchConfig = {
  quick: true,
  only: undefined,
  workers: 1,
  small: { bytes: 1024, connections: 2, warmupS: 0.2, durationS: 1, rounds: 2 },
  single: { bytes: [BYTES], runs: 1 },
  concurrent: { bytes: BYTES, clients: 1 },
  throttled: { bytes: BYTES, bytesPerSecond: BYTES },
  metricsCost: { rounds: 1, roundS: 1 },
  idleSettleMs: 0,
  idleStarts: 1,
};

describe('smallRequestsInRounds', () => {
  it('warms every path up, then loads each once per round in a rotated order', async () => {
    const log: string[] = [];
    const body = patternBytes(0, 1024);
    const paths = [await path('a', log, () => body), await path('b', log, () => body)];
    const results = await smallRequestsInRounds(paths, smallConfig, quiet);
    for (const result of results) {
      expect(result).toMatchObject({ failures: 0, cpuMicrosPerRequest: undefined });
      expect((result as { reqPerS: number }).reqPerS).toBeGreaterThan(0);
    }
    // Warm-up a then b; round 1 a then b; round 2 b then a.
    const turns = log.filter((name, index) => name !== log[index - 1]);
    expect(turns).toEqual(['a', 'b', 'a', 'b', 'a']);
  });

  it('fails a path that answers other than 2xx and measures the others', async () => {
    const log: string[] = [];
    const paths = [
      await path('missing', log, () => 'missing'),
      await path('good', log, () => patternBytes(0, 1024)),
    ];
    const [missing, good] = await smallRequestsInRounds(paths, smallConfig, quiet);
    expect(missing).toBeInstanceOf(Error);
    expect((missing as Error).message).toMatch(/answers were not 2xx/);
    expect((good as { reqPerS: number }).reqPerS).toBeGreaterThan(0);
  });
});

describe('medianIdle', () => {
  it('takes the median of each figure over the starts, not the figures of one start', () => {
    const sample = (totalMiB: number, largestMiB: number, anonymousMiB: number) => ({
      processes: 3,
      totalMiB,
      largestMiB,
      anonymousMiB,
    });
    const idle = medianIdle([sample(190, 72, 60), sample(186, 69, 64), sample(188, 70, 62)]);
    expect(idle).toEqual({ processes: 3, totalMiB: 188, largestMiB: 70, anonymousMiB: 62 });
  });
});
