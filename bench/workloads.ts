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
import {
  largestProcessRssBytes,
  type PeakMemory,
  processTree,
  samplePeakRss,
  treeAnonymousBytes,
  treeCpuSeconds,
  treeRssBytes,
} from './proc.js';

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
  peakAnonymousMiB: number | undefined;
  /** The peak of the tree's largest process, on which the per-process goal is judged. */
  peakLargestRssMiB: number | undefined;
}

export interface ThrottledResult {
  bytes: number;
  bytesPerSecond: number;
  seconds: number;
  peakRssMiB: number;
  peakAnonymousMiB: number;
  peakLargestRssMiB: number;
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

/** A path's idle resident memory: total, of its largest process, and anonymous. */
export interface IdleSample {
  processes: number;
  totalMiB: number;
  largestMiB: number;
  anonymousMiB: number;
}

/** Each figure's median over several starts' samples (not one sample's figures). */
export function medianIdle(samples: readonly IdleSample[]): IdleSample {
  const middle = (pick: (sample: IdleSample) => number) => spread(samples.map(pick)).median;
  return {
    processes: middle((sample) => sample.processes),
    totalMiB: middle((sample) => sample.totalMiB),
    largestMiB: middle((sample) => sample.largestMiB),
    anonymousMiB: middle((sample) => sample.anonymousMiB),
  };
}

/** Idle resident memory of the path's processes; undefined for a path without any. */
export async function idleRss(
  path: RunningPath,
  config: BenchConfig,
): Promise<IdleSample | undefined> {
  if (path.root === undefined) return undefined;
  await sleep(config.idleSettleMs);
  return {
    processes: processTree(path.root).length,
    totalMiB: mib(treeRssBytes(path.root)),
    largestMiB: mib(largestProcessRssBytes(path.root)),
    anonymousMiB: mib(treeAnonymousBytes(path.root)),
  };
}

/**
 * Gives every path `rounds` turns, one per round, in an order rotated each round: taken in
 * rounds, the drift of a shared machine over the phase falls on every path alike, so the ratios
 * between paths hold better than the figures do. A path whose turn fails sits out the later
 * rounds; returns each path's error, if any. The paths not taking their turn wait meanwhile.
 */
async function inRounds(
  paths: RunningPath[],
  rounds: number,
  turn: (path: RunningPath, index: number) => Promise<void>,
  progress: (round: number) => void = () => {},
  errors: (Error | undefined)[] = paths.map(() => undefined),
): Promise<(Error | undefined)[]> {
  for (let round = 0; round < rounds; round++) {
    progress(round);
    for (let step = 0; step < paths.length; step++) {
      const index = (round + step) % paths.length;
      if (errors[index]) continue;
      try {
        await turn(paths[index] as RunningPath, index);
      } catch (error) {
        errors[index] = error instanceof Error ? error : new Error(String(error));
      }
    }
  }
  return errors;
}

function cpuSeconds(path: RunningPath): number {
  return path.root === undefined ? 0 : treeCpuSeconds(path.root);
}

function median(values: number[]): number {
  return spread(values).median;
}

interface SmallLoad {
  result: autocannon.Result;
  cpuSeconds: number;
}

function warmUp(path: RunningPath, config: BenchConfig): Promise<autocannon.Result> {
  const { bytes, connections, warmupS } = config.small;
  return autocannon({
    url: path.url(bytes),
    connections,
    headers: path.headers,
    duration: warmupS,
  });
}

/** `connections` keep-alive clients asking for the small object for `durationS`. */
async function smallLoad(
  path: RunningPath,
  config: BenchConfig,
  durationS: number,
): Promise<SmallLoad> {
  const { bytes, connections } = config.small;
  const url = path.url(bytes);
  const before = cpuSeconds(path);
  const result = await autocannon({ url, connections, headers: path.headers, duration: durationS });
  if (result.non2xx > 0) throw new Error(`${url}: ${result.non2xx} answers were not 2xx`);
  return { result, cpuSeconds: cpuSeconds(path) - before };
}

/** req/s, p50 and p99: the medians of the loads; CPU per request: over all of them. */
function smallResult(path: RunningPath, loads: SmallLoad[]): SmallResult {
  const results = loads.map((load) => load.result);
  const requests = results.reduce((sum, result) => sum + result.requests.total, 0);
  const cpu = loads.reduce((sum, load) => sum + load.cpuSeconds, 0);
  return {
    reqPerS: median(results.map((result) => result.requests.average)),
    p50Ms: median(results.map((result) => result.latency.p50)),
    p99Ms: median(results.map((result) => result.latency.p99)),
    failures: results.reduce((sum, result) => sum + result.errors + result.timeouts, 0),
    cpuMicrosPerRequest:
      path.root === undefined || requests === 0 ? undefined : (cpu * 1e6) / requests,
  };
}

/** One path's small-object load for `durationS`, after a warm-up. */
export async function smallRequests(
  path: RunningPath,
  config: BenchConfig,
  progress: Progress,
): Promise<SmallResult> {
  const { bytes, connections, durationS } = config.small;
  progress(`${bytes / 1024} KiB warm-up`);
  await warmUp(path, config);
  progress(`${bytes / 1024} KiB x ${connections} connections, ${durationS} s`);
  return smallResult(path, [await smallLoad(path, config, durationS)]);
}

/**
 * Every path's small-object load in rounds: a warm-up on each, then `rounds` rounds of
 * `durationS / rounds` seconds per path.
 */
export async function smallRequestsInRounds(
  paths: RunningPath[],
  config: BenchConfig,
  progress: Progress,
): Promise<(SmallResult | Error)[]> {
  const { bytes, connections, durationS, rounds } = config.small;
  const loads = paths.map(() => [] as SmallLoad[]);
  const roundS = durationS / rounds;
  progress(`${bytes / 1024} KiB warm-up`);
  const errors = await inRounds(paths, 1, async (path) => {
    await warmUp(path, config);
  });
  await inRounds(
    paths,
    rounds,
    async (path, index) => {
      loads[index]?.push(await smallLoad(path, config, roundS));
    },
    (round) =>
      progress(`${bytes / 1024} KiB x ${connections} connections, round ${round + 1}/${rounds}`),
    errors,
  );
  return paths.map((path, index) => errors[index] ?? smallResult(path, loads[index] ?? []));
}

/**
 * Each path's sha256-checked download of `bytes`, then `runs` rounds of one timed download per
 * path; CPU is each path's own over its timed downloads.
 */
export async function downloadsInRounds(
  paths: RunningPath[],
  bytes: number,
  runs: number,
  progress: Progress,
): Promise<(SingleResult | Error)[]> {
  const downloads = paths.map(() => [] as Download[]);
  const cpuBefore = paths.map(() => 0);
  progress(`${mib(bytes)} MiB sha256 check`);
  const errors = await inRounds(paths, 1, async (path, index) => {
    const check = await download(path.url(bytes), path.headers, bytes, true);
    if (check.sha256 !== patternDigest(bytes)) {
      throw new Error(`${path.url(bytes)}: wrong bytes (sha256)`);
    }
    cpuBefore[index] = cpuSeconds(path);
  });
  await inRounds(
    paths,
    runs,
    async (path, index) => {
      downloads[index]?.push(await download(path.url(bytes), path.headers, bytes));
    },
    (round) => progress(`${mib(bytes)} MiB round ${round + 1}/${runs}`),
    errors,
  );
  return paths.map((path, index) => {
    const done = downloads[index] as Download[];
    const deliveredGiB = (bytes * done.length) / GIB;
    return (
      errors[index] ?? {
        bytes,
        runs: done.length,
        ms: spread(done.map((run) => run.ms)),
        ttfbMs: spread(done.map((run) => run.ttfbMs)),
        cpuSecondsPerGiB:
          path.root === undefined
            ? undefined
            : (cpuSeconds(path) - (cpuBefore[index] as number)) / deliveredGiB,
      }
    );
  });
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
  let peak: PeakMemory | undefined;
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
    peakRssMiB: peak && mib(peak.rssBytes),
    peakAnonymousMiB: peak && mib(peak.anonymousBytes),
    peakLargestRssMiB: peak && mib(peak.largestProcessRssBytes),
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
  let peak: PeakMemory = { rssBytes: 0, anonymousBytes: 0, largestProcessRssBytes: 0 };
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
    peakRssMiB: mib(peak.rssBytes),
    peakAnonymousMiB: mib(peak.anonymousBytes),
    peakLargestRssMiB: mib(peak.largestProcessRssBytes),
  };
}
