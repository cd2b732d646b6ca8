/**
 * What the bench asks of each path: many small requests (autocannon), single large downloads,
 * many concurrent downloads, one slow reader of a huge object, and the gateway's memory and CPU
 * meanwhile. Every body is counted; the first download of each size is checked by sha256.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { request } from 'undici';
import { patternSha256 } from '../dev/pattern.js';
import { type BenchConfig, MIB } from './config.js';
import type { RunningPath } from './paths.js';
import { processTree, samplePeakRss, treeCpuSeconds, treeRssBytes } from './proc.js';

const GIB = 1024 * MIB;

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface SmallResult {
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts (any answer but 2xx fails the workload). */
  failures: number;
  /** CPU (user + system) of the path's processes per request answered, in µs. */
  cpuMicrosPerRequest: number | undefined;
}

export interface SingleResult {
  bytes: number;
  runs: number;
  ms: Spread;
  ttfbMs: Spread;
  /** CPU of the path's processes per GiB delivered over these runs. */
  cpuSecondsPerGiB: number | undefined;
}

export interface ConcurrentResult {
  clients: number;
  bytes: number;
  mibPerS: number;
  peakRssMiB: number | undefined;
}

export interface ThrottledResult {
  bytes: number;
  bytesPerSecond: number;
  seconds: number;
  peakRssMiB: number;
}

/** Reports a step of the current target on the progress line. */
export type Progress = (step: string) => void;

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number };
}

const mib = (bytes: number) => bytes / MIB;

interface Download {
  ms: number;
  ttfbMs: number;
  sha256: string | undefined;
}

/** GETs `url` to the end; fails on any status but 200 or a body of another length. */
async function download(
  url: string,
  headers: Record<string, string>,
  bytes: number,
  hash = false,
): Promise<Download> {
  const started = performance.now();
  const { statusCode, body } = await request(url, { headers });
  if (statusCode !== 200) {
    await body.dump();
    throw new Error(`${url}: status ${statusCode}`);
  }
  const digest = hash ? createHash('sha256') : undefined;
  let received = 0;
  let ttfbMs = 0;
  for await (const chunk of body) {
    if (received === 0) ttfbMs = performance.now() - started;
    received += (chunk as Buffer).length;
    digest?.update(chunk as Buffer);
  }
  if (received !== bytes) throw new Error(`${url}: ${received} bytes, expected ${bytes}`);
  return { ms: performance.now() - started, ttfbMs, sha256: digest?.digest('hex') };
}

const expectedSha256 = new Map<number, string>();
function patternDigest(bytes: number): string {
  let digest = expectedSha256.get(bytes);
  if (digest === undefined) {
    digest = patternSha256(0, bytes);
    expectedSha256.set(bytes, digest);
  }
  return digest;
}

/** Idle resident memory of the path's processes: total and per process. */
export async function idleRss(
  path: RunningPath,
  config: BenchConfig,
): Promise<{ processes: number; totalMiB: number } | undefined> {
  if (path.root === undefined) return undefined;
  await sleep(config.idleSettleMs);
  return { processes: processTree(path.root).length, totalMiB: mib(treeRssBytes(path.root)) };
}

/** `connections` keep-alive clients asking for the small object for `durationS`, after a warm-up. */
export async function smallRequests(
  path: RunningPath,
  config: BenchConfig,
  progress: Progress,
): Promise<SmallResult> {
  const { bytes, connections, warmupS, durationS } = config.small;
  const options = { url: path.url(bytes), connections, headers: path.headers };
  progress(`${bytes / 1024} KiB warm-up`);
  await autocannon({ ...options, duration: warmupS });
  progress(`${bytes / 1024} KiB x ${connections} connections, ${durationS} s`);
  const cpuBefore = path.root === undefined ? 0 : treeCpuSeconds(path.root);
  const result = await autocannon({ ...options, duration: durationS });
  const cpuSeconds = path.root === undefined ? undefined : treeCpuSeconds(path.root) - cpuBefore;
  if (result.non2xx > 0) throw new Error(`${options.url}: ${result.non2xx} answers were not 2xx`);
  return {
    reqPerS: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures: result.errors + result.timeouts,
    cpuMicrosPerRequest:
      cpuSeconds === undefined || result.requests.total === 0
        ? undefined
        : (cpuSeconds * 1e6) / result.requests.total,
  };
}

/** One path's share of `downloadsInRounds`: its timed downloads, or why it stopped. */
interface PathDownloads {
  path: RunningPath;
  runs: Download[];
  cpuBefore: number;
  error?: Error;
}

/**
 * Each path's sha256-checked download of `bytes`, then `runs` rounds of one timed download from
 * every path, in an order rotated each round. Taken in rounds, the drift of a shared machine over
 * the phase falls on every path alike, so the ratios between paths hold better than the times
 * do. A path that fails is left out of the later rounds and gets its error back; CPU is each
 * path's own over its timed downloads (the others wait meanwhile).
 */
export async function downloadsInRounds(
  paths: RunningPath[],
  bytes: number,
  runs: number,
  progress: Progress,
): Promise<(SingleResult | Error)[]> {
  const shares: PathDownloads[] = paths.map((path) => ({ path, runs: [], cpuBefore: 0 }));
  progress(`${mib(bytes)} MiB sha256 check`);
  for (const share of shares) {
    await attempt(share, async () => {
      const url = share.path.url(bytes);
      const check = await download(url, share.path.headers, bytes, true);
      if (check.sha256 !== patternDigest(bytes)) throw new Error(`${url}: wrong bytes (sha256)`);
      share.cpuBefore = cpuSeconds(share.path);
    });
  }
  for (let round = 0; round < runs; round++) {
    progress(`${mib(bytes)} MiB round ${round + 1}/${runs}`);
    for (let turn = 0; turn < shares.length; turn++) {
      const share = shares[(round + turn) % shares.length] as PathDownloads;
      await attempt(share, async () => {
        share.runs.push(await download(share.path.url(bytes), share.path.headers, bytes));
      });
    }
  }
  return shares.map((share) => share.error ?? singleResult(share, bytes));
}

async function attempt(share: PathDownloads, step: () => Promise<void>): Promise<void> {
  if (share.error) return;
  try {
    await step();
  } catch (error) {
    share.error = error instanceof Error ? error : new Error(String(error));
  }
}

function cpuSeconds(path: RunningPath): number {
  return path.root === undefined ? 0 : treeCpuSeconds(path.root);
}

function singleResult(share: PathDownloads, bytes: number): SingleResult {
  const deliveredGiB = (bytes * share.runs.length) / GIB;
  return {
    bytes,
    runs: share.runs.length,
    ms: spread(share.runs.map((run) => run.ms)),
    ttfbMs: spread(share.runs.map((run) => run.ttfbMs)),
    cpuSecondsPerGiB:
      share.path.root === undefined
        ? undefined
        : (cpuSeconds(share.path) - share.cpuBefore) / deliveredGiB,
  };
}

/** `clients` downloads of the same object at once: aggregate throughput and the peak RSS. */
export async function concurrentDownloads(
  path: RunningPath,
  config: BenchConfig,
  progress: Progress,
): Promise<ConcurrentResult> {
  const { bytes, clients } = config.concurrent;
  const url = path.url(bytes);
  progress(`${clients} x ${mib(bytes)} MiB at once`);
  const sampler = path.root === undefined ? undefined : samplePeakRss(path.root);
  const started = performance.now();
  let peak: number | undefined;
  try {
    await Promise.all(Array.from({ length: clients }, () => download(url, path.headers, bytes)));
  } finally {
    peak = sampler?.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    clients,
    bytes,
    mibPerS: mib(clients * bytes) / seconds,
    peakRssMiB: peak === undefined ? undefined : mib(peak),
  };
}

/**
 * One client reading the throttled object no faster than `bytesPerSecond`: a streaming gateway
 * must hold the rest back (backpressure) instead of buffering it, so its peak RSS stays flat.
 */
export async function throttledDownload(
  path: RunningPath,
  root: number,
  config: BenchConfig,
): Promise<ThrottledResult> {
  const { bytes, bytesPerSecond } = config.throttled;
  const sampler = samplePeakRss(root);
  const started = performance.now();
  let peak = 0;
  try {
    const { statusCode, body } = await request(path.url(bytes), { headers: path.headers });
    if (statusCode !== 200) {
      await body.dump();
      throw new Error(`${path.url(bytes)}: status ${statusCode}`);
    }
    let received = 0;
    for await (const chunk of body) {
      received += (chunk as Buffer).length;
      const aheadMs = (received / bytesPerSecond) * 1000 - (performance.now() - started);
      if (aheadMs > 0) await sleep(aheadMs);
    }
    if (received !== bytes) throw new Error(`${path.url(bytes)}: ${received} of ${bytes} bytes`);
  } finally {
    peak = sampler.stop();
  }
  return {
    bytes,
    bytesPerSecond,
    seconds: (performance.now() - started) / 1000,
    peakRssMiB: mib(peak),
  };
}
