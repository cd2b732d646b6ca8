/**
 * npx tsx bench/small-objects.ts [label=dist-dir ...] — requests per second for one 16 KiB
 * object from s3rver, through each given build of streamgate (`node <dir>/main.js`,
 * STORAGE_BACKEND=s3, LOG_LEVEL=warn) and through the bare proxy (bench/bare-proxy.ts), with
 * `autocannon -c 32 -d 10`, one target after the other in one run. Bodies are checked by sha256
 * first. BENCH_ORIGIN=nginx serves the object from nginx instead (a static file at the S3 path,
 * signatures ignored), so that the origin is not the bottleneck. The machine is shared: compare
 * the ratios within a run, not across runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { patternBytes, sha256 } from '../dev/pattern.js';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, startLocalS3 } from '../dev/s3-server.js';

const SIZE = 16 * 1024;
const KEY = 'test/1/image.jpg';
const CONNECTIONS = process.env.BENCH_CONNECTIONS ?? '32';
const SECONDS = process.env.BENCH_SECONDS ?? '10';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitUntilServing(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const { body } = await request(url);
      await body.dump();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`${url} never answered`);
}

async function startTarget(args: string[], env: Record<string, string>, port: number) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise<string>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) resolve(`http://127.0.0.1:${match[1]}`);
    });
    // The gateway logs nothing at warn: its port is the one it was given.
    if (!args.some((arg) => arg.includes('bare-proxy'))) resolve(`http://127.0.0.1:${port}`);
  });
  return { child, base };
}

/** User + system CPU time of a process, in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(child: ChildProcess | undefined): number {
  if (child?.pid === undefined) return Number.NaN;
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Runs autocannon in a child without blocking this process, which serves s3rver. */
async function autocannon(url: string): Promise<{ rps: number; p99: number; non2xx: number }> {
  const child = spawn('npx', ['-y', 'autocannon@8', '-c', CONNECTIONS, '-d', SECONDS, '-j', url], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  await new Promise((resolve) => child.once('exit', resolve));
  const result = JSON.parse(out) as {
    requests: { average: number };
    latency: { p99: number };
    non2xx: number;
    errors: number;
  };
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
  };
}

interface Origin {
  name: string;
  endpoint: string;
  stop(): Promise<void>;
}

async function startS3rver(object: Buffer): Promise<Origin> {
  const s3 = await startLocalS3(['images']);
  await s3.put('images', KEY, object);
  return { name: 's3rver', endpoint: s3.endpoint, stop: () => s3.stop() };
}

async function startNginx(object: Buffer): Promise<Origin> {
  const root = await mkdtemp(path.join(tmpdir(), 'streamgate-bench-nginx-'));
  await mkdir(path.join(root, 'images', 'test', '1'), { recursive: true });
  await writeFile(path.join(root, 'images', KEY), object);
  const port = await freePort();
  const config = path.join(root, 'nginx.conf');
  await writeFile(
    config,
    `daemon off; worker_processes 1; pid ${root}/nginx.pid; error_log stderr error;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 100000;
  client_body_temp_path ${root}; proxy_temp_path ${root}; fastcgi_temp_path ${root};
  uwsgi_temp_path ${root}; scgi_temp_path ${root};
  server { listen 127.0.0.1:${port}; root ${root}; } }
`,
  );
  const child = spawn('nginx', ['-c', config, '-p', root], { stdio: 'inherit' });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilServing(`${endpoint}/images/${KEY}`);
  return {
    name: 'nginx',
    endpoint,
    async stop() {
      child.kill('SIGTERM');
      await rm(root, { recursive: true, force: true });
    },
  };
}

const body = patternBytes(0, SIZE);
const origin =
  process.env.BENCH_ORIGIN === 'nginx' ? await startNginx(body) : await startS3rver(body);
const s3Env = {
  STORAGE_BACKEND: 's3',
  AWS_ENDPOINT_URL: origin.endpoint,
  AWS_ACCESS_KEY_ID: S3_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY,
  S3_ENDPOINT: origin.endpoint,
  S3_BUCKET: 'images',
  S3_KEY: KEY,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

const builds = process.argv.slice(2).map((arg) => {
  const [label, dir] = arg.includes('=') ? arg.split('=') : ['streamgate', arg];
  return { label: label as string, dir: dir as string };
});
if (builds.length === 0) builds.push({ label: 'streamgate', dir: 'dist' });

const targets: { name: string; url: string; child: ChildProcess }[] = [];
for (const build of builds) {
  const { child, base } = await startTarget([`${build.dir}/main.js`], s3Env, await freePort());
  targets.push({ name: build.label, url: `${base}/tasks/1/image`, child });
}
const bare = await startTarget(['--import', 'tsx', 'bench/bare-proxy.ts'], s3Env, 0);
targets.push({
  name: 'bare node:http + undici Pool + SigV4',
  url: `${bare.base}/`,
  child: bare.child,
});

const direct = `${origin.endpoint}/images/${KEY}`;
console.log(
  `16 KiB object from ${origin.name}, autocannon -c ${CONNECTIONS} -d ${SECONDS}; node ${process.version}`,
);
const all = [...targets, { name: `${origin.name} direct`, url: direct, child: undefined }];
for (const target of all) {
  await waitUntilServing(target.url);
  const { body: check } = await request(target.url);
  const bytes = Buffer.from(await check.arrayBuffer());
  if (sha256(bytes) !== sha256(body)) throw new Error(`${target.name}: wrong bytes`);
}
// Targets take turns round after round, so a burst of load elsewhere hits all of them alike.
// CPU time per request (user + system, from /proc) is far steadier than req/s on a busy machine.
const runs = new Map<string, { rps: number; p99: number; non2xx: number; cpuUs: number }[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const target of all) {
    const cpuBefore = cpuMs(target.child);
    const run = await autocannon(target.url);
    const cpuUs = ((cpuMs(target.child) - cpuBefore) * 1000) / (run.rps * Number(SECONDS));
    runs.set(target.name, [...(runs.get(target.name) ?? []), { ...run, cpuUs }]);
  }
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const summary = all.map(({ name }) => {
  const list = runs.get(name) ?? [];
  return {
    name,
    rps: median(list.map((r) => r.rps)),
    p99: median(list.map((r) => r.p99)),
    non2xx: list.reduce((sum, r) => sum + r.non2xx, 0),
    cpuUs: median(list.map((r) => r.cpuUs)),
    each: list.map((r) => Math.round(r.rps)).join(' / '),
  };
});
const bareRps = summary.find((r) => r.name.startsWith('bare'))?.rps ?? 1;
console.log(`median of ${ROUNDS} rounds`);
console.log(
  '| target | req/s | each round | p99 ms | non-2xx or errors | x bare proxy | CPU µs/request |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of summary) {
  console.log(
    `| ${r.name} | ${Math.round(r.rps)} | ${r.each} | ${r.p99} | ${r.non2xx} | ${(r.rps / bareRps).toFixed(2)} | ${Number.isFinite(r.cpuUs) ? Math.round(r.cpuUs) : '-'} |`,
  );
}

for (const target of targets) target.child.kill('SIGTERM');
await origin.stop();
process.exit(0);
