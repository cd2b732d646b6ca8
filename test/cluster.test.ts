import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  killAllMains,
  listeningPids,
  pidServing,
  type RunningMain,
  startMain,
} from './helpers/main-process.js';

const ROOT = path.resolve(import.meta.dirname, '..');
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'streamgate-cluster-'));
});

afterEach(killAllMains);

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** GET /healthz on a new connection; resolves with the status and the client's port. */
function healthz(url: string): Promise<{ status: number; localPort: number }> {
  return new Promise((resolve, reject) => {
    get(`${url}/healthz`, { agent: false }, (response) => {
      const localPort = response.socket.localPort ?? -1;
      response.resume();
      response.once('end', () => resolve({ status: response.statusCode ?? 0, localPort }));
    }).once('error', reject);
  });
}

/** Sends requests on new connections until `count` distinct workers have answered one. */
async function workersAnswering(main: RunningMain, count: number): Promise<Set<number>> {
  const pids = new Set<number>();
  // The kernel hands each connection to an idle worker; 50 all to one would be a real imbalance.
  for (let request = 0; request < 50 && pids.size < count; request++) {
    const { status, localPort } = await healthz(main.url);
    expect(status).toBe(200);
    pids.add(await pidServing(main, localPort));
  }
  return pids;
}

function startCluster(): Promise<RunningMain> {
  return startMain({ WORKERS: '2', DATA_DIR: dataDir, SHUTDOWN_GRACE_MS: '5000' });
}

/** Runs the entry point to its end; for start-up failures. */
async function runToExit(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('WORKERS=2', () => {
  it('spreads new connections over both workers, which share one port', async () => {
    const main = await startCluster();
    const workers = await listeningPids(main, 2);
    expect(workers).toHaveLength(2);
    expect(workers).not.toContain(main.child.pid);
    const listening = main.logs().filter((line) => line.msg.startsWith('Server listening at'));
    expect(new Set(listening.map((line) => line.msg))).toEqual(new Set([listening[0]?.msg]));
    expect(await workersAnswering(main, 2)).toEqual(new Set(workers));
  });

  it('replaces a worker that dies, logs it, and keeps serving the port', async () => {
    const main = await startCluster();
    const [victim, survivor] = await listeningPids(main, 2);
    if (victim === undefined || survivor === undefined) throw new Error('two workers expected');

    process.kill(victim, 'SIGKILL');
    const death = await main.waitForLog(
      (line) => line.workerPid === victim && line.level === 50,
      'the death of the killed worker',
    );
    expect(death).toMatchObject({ pid: main.child.pid, code: null, signal: 'SIGKILL' });
    expect(death.msg).toMatch(/replacing/);
    const [replacement] = (await listeningPids(main, 3)).filter(
      (pid) => pid !== victim && pid !== survivor,
    );
    expect(replacement).toBeDefined();

    const answering = await workersAnswering(main, 2);
    expect(answering).toEqual(new Set([survivor, replacement]));
    expect(main.child.exitCode).toBeNull();
  });

  it('backs off before replacing workers that die faster than one per worker', async () => {
    const main = await startCluster();
    for (let kill = 1; kill <= 3; kill++) {
      const pids = await listeningPids(main, kill + 1);
      const latest = pids.at(-1) as number;
      process.kill(latest, 'SIGKILL');
      await main.waitForLog((line) => line.workerPid === latest && line.level === 50, 'a death');
    }
    const warning = await main.waitForLog(
      (line) => line.msg.startsWith('workers are crashing repeatedly'),
      'the crash-loop warning',
    );
    expect(warning).toMatchObject({ pid: main.child.pid, crashes: 3, delayMs: 1000 });
    // Still replaced, after the delay.
    await listeningPids(main, 5);
    expect((await healthz(main.url)).status).toBe(200);
  });
});

describe('the primary', () => {
  it('loads none of the app: no Fastify, pino, prom-client or undici; a worker no undici index', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', './test/fixtures/loaded-packages.ts', 'src/main.ts'],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOST: '127.0.0.1',
          PORT: '0',
          WORKERS: '2',
          DATA_DIR: dataDir,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = once(child, 'exit');
    try {
      let stdout = '';
      let stderr = '';
      const seen = (pattern: RegExp, stream: 'stdout' | 'stderr') =>
        new Promise<RegExpExecArray>((resolve, reject) => {
          const check = (chunk: Buffer) => {
            if (stream === 'stdout') stdout += chunk.toString();
            else stderr += chunk.toString();
            const match = pattern.exec(stream === 'stdout' ? stdout : stderr);
            if (match) resolve(match);
          };
          child[stream].on('data', check);
          exited.then(() => reject(new Error(`main exited: ${stderr}`)));
        });
      const listening = seen(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/, 'stdout');
      const primary = seen(/PACKAGES primary (.*)\n/, 'stderr');
      const worker = seen(/PACKAGES worker (.*)\n/, 'stderr');
      const undiciIndex = seen(/UNDICI_INDEX worker (true|false)\n/, 'stderr');
      const url = (await listening)[1];
      expect((await healthz(url ?? '')).status).toBe(200);
      const loaded = (match: RegExpExecArray): string[] => JSON.parse(match[1] ?? '[]');
      const app = ['fastify', 'pino', 'prom-client', 'undici'];
      // The worker shows that the check sees them when they are loaded.
      expect(loaded(await worker)).toEqual(expect.arrayContaining(app));
      for (const name of app) expect(loaded(await primary)).not.toContain(name);
      // Neither loads the API docs until they are asked for (plugins/docs.ts).
      expect(loaded(await worker)).not.toContain('@fastify/swagger');
      expect(loaded(await primary)).not.toContain('@fastify/swagger');
      // undici's own modules, not its index and the rest of undici with it (sources/undici.ts).
      expect((await undiciIndex)[1]).toBe('false');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('LOG_LEVEL', () => {
  it('is read in any case by the primary and the workers alike', async () => {
    const main = await startMain({ WORKERS: '2', DATA_DIR: dataDir, LOG_LEVEL: 'INFO' });
    expect(await listeningPids(main, 2)).toHaveLength(2);
    expect(main.logs().some((line) => line.msg === 'worker started')).toBe(true);
  });
});

describe('start-up failures', () => {
  it('a bad WORKERS prints one line naming it and exits 1', async () => {
    const result = await runToExit({ WORKERS: '0', PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'streamgate: invalid setting WORKERS: expected a number from 1 to 1024, got 0\n',
    );
    expect(result.stdout).toBe('');
  });

  it.each(['1', '2'])('a bad LOG_LEVEL prints one line naming it (WORKERS=%s)', async (workers) => {
    const result = await runToExit({ WORKERS: workers, PORT: '0', LOG_LEVEL: 'verbose' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'streamgate: invalid setting LOG_LEVEL: expected one of fatal, error, warn, info, debug, ' +
        'trace, silent, got "verbose"\n',
    );
    expect(result.stdout).toBe('');
  });

  it.each(['1', '2'])('a port in use prints one line and exits 1 (WORKERS=%s)', async (workers) => {
    const squatter = createServer();
    squatter.listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const { port } = squatter.address() as AddressInfo;
    try {
      const result = await runToExit({ WORKERS: workers, PORT: String(port), LOG_LEVEL: 'warn' });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(`^streamgate: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\\n$`),
      );
    } finally {
      squatter.close();
    }
  });
});
