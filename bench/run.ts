/**
 * npm run bench — speed and memory, side by side in one run, on loopback:
 * the gateway beside a direct download from the same source and beside a naive buffered
 * implementation. Medians of sequential downloads, then peak RSS under concurrent downloads.
 * Results vary with the machine's load: compare the ratios within one run, not across runs.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { patternSha256, patternStream } from '../dev/pattern.js';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, startLocalS3 } from '../dev/s3-server.js';
import { startLocalUpstream } from '../dev/upstream-server.js';

const MIB = 1024 * 1024;
const SMALL = 10 * MIB;
const LARGE = 100 * MIB;
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

interface Target {
  name: string;
  url: (size: number) => string;
  process?: ChildProcess;
}

/** Starts a child that prints its URL; resolves with the base URL. */
function startChild(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ base: string; child: ChildProcess }> {
  const child = spawn(command, args, {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening (?:at http:\/\/127\.0\.0\.1:)?(\d+)/i.exec(seen);
      if (match) resolve({ base: `http://127.0.0.1:${match[1]}`, child });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

/** Downloads a URL, returns milliseconds and the body's sha256 (hashing only when asked). */
async function download(
  url: string,
  hash: boolean,
): Promise<{ ms: number; sha: string; bytes: number }> {
  const started = performance.now();
  const { statusCode, body } = await request(url);
  if (statusCode !== 200) throw new Error(`${url}: ${statusCode}`);
  const digest = hash ? createHash('sha256') : undefined;
  let bytes = 0;
  for await (const chunk of body) {
    bytes += (chunk as Buffer).length;
    digest?.update(chunk as Buffer);
  }
  return { ms: performance.now() - started, sha: digest?.digest('hex') ?? '', bytes };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function peakRssMiB(child: ChildProcess | undefined): string {
  if (!child?.pid) return '-';
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
  return (kib / 1024).toFixed(0);
}

const [s3, upstream] = await Promise.all([startLocalS3(['images']), startLocalUpstream()]);
await s3.put('images', 'test/1/image.jpg', patternStream(0, SMALL), SMALL);
await s3.put('images', 'test/2/image.jpg', patternStream(0, LARGE), LARGE);

execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
const s3Env = {
  STORAGE_BACKEND: 's3',
  AWS_ENDPOINT_URL: s3.endpoint,
  AWS_ACCESS_KEY_ID: S3_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY,
  UPSTREAM_BASE_URL: upstream.baseUrl,
  UPSTREAM_PATH_TEMPLATE: '/range/{size}',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const gateway = await startChild(process.execPath, ['dist/main.js'], s3Env);
const naive = await startChild(process.execPath, ['--import', 'tsx', 'bench/naive.ts'], s3Env);
const id = (size: number) => (size === SMALL ? 1 : 2);

const targets: Target[] = [
  { name: 'S3 direct (s3rver)', url: (size) => `${s3.endpoint}/images/test/${id(size)}/image.jpg` },
  {
    name: 'S3 via streamgate',
    url: (size) => `${gateway.base}/tasks/${id(size)}/image`,
    process: gateway.child,
  },
  {
    name: 'S3 via naive buffered port',
    url: (size) => `${naive.base}/tasks/${id(size)}/image`,
    process: naive.child,
  },
  { name: 'upstream direct', url: (size) => `${upstream.baseUrl}/range/${size}` },
  {
    name: 'upstream via streamgate',
    url: (size) => `${gateway.base}/tasks/1/bytes/${size}`,
    process: gateway.child,
  },
];

const expected = { [SMALL]: patternSha256(0, SMALL), [LARGE]: patternSha256(0, LARGE) };
const rows: string[][] = [];
const directMs = new Map<string, number>();
for (const target of targets) {
  for (const size of [SMALL, LARGE]) {
    const check = await download(target.url(size), true);
    if (check.sha !== expected[size]) throw new Error(`${target.name}: wrong bytes for ${size}`);
  }
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push((await download(target.url(SMALL), false)).ms);
  const ms = median(times);
  const family = target.name.split(' ')[0] as string;
  if (target.name.includes('direct')) directMs.set(family, ms);
  const concurrentStarted = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, () => download(target.url(LARGE), false)));
  const concurrentS = (performance.now() - concurrentStarted) / 1000;
  rows.push([
    target.name,
    ms.toFixed(1),
    (SMALL / MIB / (ms / 1000)).toFixed(0),
    (ms / (directMs.get(family) ?? ms)).toFixed(2),
    ((CONCURRENCY * LARGE) / MIB / concurrentS).toFixed(0),
    peakRssMiB(target.process),
  ]);
}

const header = [
  'target',
  '10 MiB median ms',
  'MiB/s',
  'x direct',
  `${CONCURRENCY}x100 MiB MiB/s`,
  'peak RSS MiB',
];
const widths = header.map((h, i) =>
  Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
);
const line = (cells: string[]) =>
  `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
process.stdout.write(
  `\n${RUNS} sequential downloads each, then ${CONCURRENCY} concurrent; node ${process.version}\n`,
);
process.stdout.write(
  `${[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`,
);
process.stdout.write(
  '(peak RSS of the streamgate process is its high-water mark over the whole run)\n',
);

gateway.child.kill('SIGTERM');
naive.child.kill('SIGTERM');
await Promise.all([s3.stop(), upstream.stop()]);
process.exit(0);
