/**
 * npm run bench: every path to every origin in one run on 127.0.0.1, figures side by side, written
 * to docs/benchmarks.{md,json,svg} (a quick or filtered run writes to .tmp/bench unless BENCH_OUT
 * says where). BENCH_QUICK=1 for a smoke run; --only <regex> (or BENCH_ONLY) for some targets.
 * On each origin the paths are started one after another, each measured alone for idle memory;
 * then the small requests and the large downloads take every path in rounds, and the concurrent
 * downloads each path in turn. The slow 1 GiB readers of the streaming gateways run together at
 * the end of the first origin, since they wait more than they work.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildBenchServers } from './build.js';
import { renderChart } from './chart.js';
import { loadConfig, MIB, objectSizes } from './config.js';
import { evaluateGoals } from './goals.js';
import { METRICS_COST_LABEL, type MetricsCostResult, metricsCost } from './metrics-cost.js';
import { ensureNginx } from './nginx.js';
import { type Origin, startCephOrigin, startNginxOrigin, startS3rverOrigin } from './origins.js';
import {
  allPaths,
  metricsTwins,
  type PathContext,
  type PathSpec,
  type RunningPath,
  streamgateArgv,
} from './paths.js';
import { renderMarkdown } from './report.js';
import type { BenchRun, Machine, TargetResult } from './results.js';
import {
  startThrottledOrigin,
  THROTTLED_ORIGIN,
  THROTTLED_PLAN,
  type ThrottledOriginResult,
  throttledOriginDownload,
  throttledPaths,
} from './throttled-origin.js';
import {
  concurrentDownloads,
  downloadsInRounds,
  type IdleSample,
  idleRss,
  medianIdle,
  smallRequestsInRounds,
  throttledDownload,
} from './workloads.js';

const config = loadConfig();
const startedAt = performance.now();
const BUILD_DIR = path.resolve('.tmp/bench-build');

/** Everything started and not yet stopped; stopped newest first on every way out. */
const owned = new Set<{ stop(): Promise<void> }>();
function own<T extends { stop(): Promise<void> }>(thing: T): T {
  owned.add(thing);
  return thing;
}
async function release(thing: { stop(): Promise<void> }): Promise<void> {
  owned.delete(thing);
  await thing.stop();
}
async function cleanUp(): Promise<void> {
  for (const thing of [...owned].reverse()) {
    await release(thing).catch((error: unknown) => say(`cleanup: ${String(error)}`));
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping everything the bench started\n`);
    cleanUp().finally(() => process.exit(130));
  });
}
// The run is bounded: a gateway that stalls must not hold the bench (and CI) forever.
const limitMinutes = Number(process.env.BENCH_MAX_MINUTES ?? (config.quick ? 6 : 25));
setTimeout(() => {
  process.stderr.write(`\nbench: over ${limitMinutes} minutes, giving up\n`);
  cleanUp().finally(() => process.exit(1));
}, limitMinutes * 60_000).unref();

function clock(): string {
  const seconds = Math.floor((performance.now() - startedAt) / 1000);
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}
function progress(label: string): (step: string) => void {
  return (step) => {
    const line = `[bench ${clock()}] ${label}: ${step}`;
    process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
  };
}
function say(text: string): void {
  process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}[bench ${clock()}] ${text}\n`);
}

/** dist/ for streamgate, and the bench's own servers. */
function build(): void {
  say('building streamgate (npm run build) and the bench servers');
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  buildBenchServers(BUILD_DIR);
}

function machine(nginx: string | undefined): Machine {
  // nginx -v writes its version to stderr.
  const nginxVersion =
    nginx && /nginx\/(\S+)/.exec(spawnSync(nginx, ['-v'], { encoding: 'utf8' }).stderr);
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 1024 ** 3,
    node: process.version,
    kernel: os.release(),
    nginx: nginxVersion ? nginxVersion[1] : undefined,
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  };
}

function commandExists(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface OriginPlan {
  name: string;
  unavailable: string | undefined;
  start(sizes: number[], directory: string): Promise<Origin>;
}

function originPlans(nginx: string | undefined): OriginPlan[] {
  return [
    {
      name: 'nginx',
      unavailable: nginx ? undefined : 'nginx-light could not be installed',
      start: (sizes, directory) =>
        startNginxOrigin(nginx as string, directory, config.workers, sizes),
    },
    { name: 's3rver', unavailable: undefined, start: (sizes) => startS3rverOrigin(sizes) },
    {
      name: 'ceph-rgw',
      unavailable: commandExists('radosgw')
        ? undefined
        : 'radosgw is not installed (Debian radosgw ceph-mon ceph-osd ceph-common; scripts/ceph-rgw.sh runs it)',
      start: (sizes, directory) => startCephOrigin(directory, sizes),
    },
  ];
}

const label = (origin: string, path: string) => `${origin} / ${path}`;
const wanted = (origin: string, name: string) =>
  config.only === undefined || config.only.test(label(origin, name));

/** A started path of an origin and what it has measured so far. */
interface Measured {
  spec: PathSpec;
  target: TargetResult;
  running: RunningPath;
}

/** Records the median of each idle figure over a path's fresh starts. */
function recordIdle(target: TargetResult, samples: IdleSample[]): void {
  if (samples.length === 0) return;
  const idle = medianIdle(samples);
  target.processes = idle.processes;
  target.idleStarts = samples.length;
  target.idleRssMiB = idle.totalMiB;
  target.idleLargestRssMiB = idle.largestMiB;
  target.idleAnonymousMiB = idle.anonymousMiB;
}

/**
 * Runs `workload` on the paths that have not failed, in rounds (bench/workloads.ts says why),
 * and hands each path its result; a path whose workload failed is marked so.
 */
async function measureInRounds<T>(
  originName: string,
  paths: Measured[],
  workload: (running: RunningPath[], step: (s: string) => void) => Promise<(T | Error)[]>,
  record: (target: TargetResult, result: T) => void,
): Promise<void> {
  const live = paths.filter((path) => path.target.error === undefined);
  const results = await workload(
    live.map((path) => path.running),
    progress(`${originName} / ${live.length} paths in rounds`),
  );
  results.forEach((result, index) => {
    const { target } = live[index] as Measured;
    if (result instanceof Error) fail(target, result);
    else record(target, result);
  });
}

function fail(target: TargetResult, error: unknown, prefix = ''): void {
  target.error = `${prefix}${errorText(error)}`;
  say(`${label(target.origin, target.path)} failed: ${target.error}`);
}

/**
 * Starts a path and measures its idle memory, the median over `config.idleStarts` fresh starts;
 * returns the first start, still running, unless it failed. Its target joins `results` either
 * way. `pathContext(n)` is the context of the n-th start.
 */
async function startAndMeasureIdle(
  spec: PathSpec,
  origin: Origin,
  pathContext: (start: number) => PathContext,
  results: TargetResult[],
): Promise<Measured | undefined> {
  const target: TargetResult = { origin: origin.name, path: spec.name, single: [] };
  results.push(target);
  let running: RunningPath | undefined;
  try {
    running = own(await spec.start(origin, pathContext(0)));
    const first = await idleRss(running, config);
    const samples = first === undefined ? [] : [first];
    // Further starts, each measured as the first was and stopped: only the first is kept.
    for (let start = 1; first !== undefined && start < config.idleStarts; start++) {
      const again = own(await spec.start(origin, pathContext(start)));
      try {
        const sample = await idleRss(again, config);
        if (sample !== undefined) samples.push(sample);
      } finally {
        await release(again);
      }
    }
    recordIdle(target, samples);
    return { spec, target, running };
  } catch (error) {
    fail(target, error);
    if (running) await release(running);
    return undefined;
  }
}

async function measureConcurrent({ target, running }: Measured): Promise<void> {
  if (target.error) return;
  try {
    const step = progress(label(target.origin, target.path));
    target.concurrent = await concurrentDownloads(running, config, step);
  } catch (error) {
    fail(target, error);
  }
}

/**
 * The slow readers, one per streaming gateway, all at once (they wait more than they work), each
 * on a fresh instance so that its peak RSS is the slow read's alone, not an earlier workload's.
 */
async function slowReaders(
  origin: Origin,
  targets: { spec: PathSpec; target: TargetResult }[],
  context: (scratch: string) => PathContext,
): Promise<void> {
  if (targets.length === 0) return;
  const { bytes, bytesPerSecond } = config.throttled;
  progress(origin.name)(
    `${targets.length} fresh gateways, each read at ${bytesPerSecond / MIB} MiB/s for ${bytes / MIB} MiB (${bytes / bytesPerSecond} s)`,
  );
  await Promise.all(
    targets.map(async ({ spec, target }, index) => {
      let running: RunningPath | undefined;
      try {
        running = own(await spec.start(origin, context(`slow-${index}`)));
        if (running.root === undefined) throw new Error('no process to measure');
        target.throttled = await throttledDownload(running, running.root, config);
      } catch (error) {
        fail(target, error, 'slow reader: ');
      } finally {
        if (running) await release(running);
      }
    }),
  );
}

/** streamgate with metrics and without, both started, compared in simultaneous rounds. */
async function compareMetricsCost(
  origin: Origin,
  context: PathContext,
): Promise<MetricsCostResult> {
  const name = label(origin.name, METRICS_COST_LABEL);
  const twins = metricsTwins(config.workers);
  const started: RunningPath[] = [];
  try {
    const on = own(
      await twins.on.start(origin, { ...context, scratchDir: `${context.scratchDir}-on` }),
    );
    started.push(on);
    const off = own(
      await twins.off.start(origin, { ...context, scratchDir: `${context.scratchDir}-off` }),
    );
    started.push(off);
    return await metricsCost(origin.name, { on, off }, config, progress(name));
  } catch (error) {
    say(`${name} failed: ${errorText(error)}`);
    return {
      origin: origin.name,
      workers: config.workers,
      roundS: config.metricsCost.roundS,
      withMetrics: [],
      withoutMetrics: [],
      cpuWithMetrics: [],
      cpuWithoutMetrics: [],
      error: errorText(error),
    };
  } finally {
    for (const running of started.reverse()) await release(running);
  }
}

interface OriginResults {
  targets: TargetResult[];
  metricsCost: MetricsCostResult | undefined;
}

/**
 * Starts the origin, then each wanted path (measured alone, then kept running for the workloads
 * in rounds), then the metrics comparison; the first origin also gets slow readers.
 */
async function benchOrigin(
  plan: OriginPlan,
  first: boolean,
  context: Omit<PathContext, 'sizes' | 'scratchDir'>,
  tempRoot: string,
  notes: string[],
): Promise<OriginResults> {
  const specs = allPaths(config.workers).filter((spec) => wanted(plan.name, spec.name));
  const comparesMetrics = wanted(plan.name, METRICS_COST_LABEL);
  const none = { targets: [], metricsCost: undefined };
  if (specs.length === 0 && !comparesMetrics) return none;
  const sizes = [...objectSizes(config), ...(first ? [config.throttled.bytes] : [])];
  sizes.sort((a, b) => a - b);
  say(
    `origin ${plan.name}: creating ${sizes.length} objects, up to ${(sizes.at(-1) as number) / MIB} MiB`,
  );
  let origin: Origin;
  try {
    origin = own(await plan.start(sizes, path.join(tempRoot, plan.name)));
  } catch (error) {
    notes.push(`origin ${plan.name}: could not start (${errorText(error).split('\n')[0]}).`);
    say(`origin ${plan.name} could not start: ${errorText(error)}`);
    return none;
  }
  const results: TargetResult[] = [];
  const readers: { spec: PathSpec; target: TargetResult }[] = [];
  const pathContextFor = (scratch: string): PathContext => ({
    ...context,
    sizes,
    scratchDir: path.join(tempRoot, `${plan.name}-${scratch}`),
  });
  const started: Measured[] = [];
  try {
    for (const spec of specs) {
      const scratch = `path-${results.length}`;
      const reason = spec.unavailable?.(pathContextFor(scratch));
      if (reason) {
        notes.push(`${label(plan.name, spec.name)}: not run, ${reason}.`);
        continue;
      }
      const contextOfStart = (start: number) =>
        pathContextFor(start === 0 ? scratch : `${scratch}-start-${start}`);
      const measured = await startAndMeasureIdle(spec, origin, contextOfStart, results);
      if (measured) started.push(measured);
    }
    await measureInRounds(
      plan.name,
      started,
      (running, step) => smallRequestsInRounds(running, config, step),
      (target, small) => {
        target.small = small;
      },
    );
    const downloaders = started.filter((measured) => !measured.spec.smallOnly);
    for (const bytes of config.single.bytes) {
      await measureInRounds(
        plan.name,
        downloaders,
        (running, step) => downloadsInRounds(running, bytes, config.single.runs, step),
        (target, single) => target.single.push(single),
      );
    }
    for (const measured of downloaders) {
      await measureConcurrent(measured);
      if (first && measured.spec.throttled && !measured.target.error) readers.push(measured);
    }
  } finally {
    for (const { running } of started.reverse()) await release(running);
  }
  await slowReaders(origin, readers, pathContextFor);
  const cost = comparesMetrics
    ? await compareMetricsCost(origin, pathContextFor('metrics'))
    : undefined;
  await release(origin);
  return { targets: results, metricsCost: cost };
}

/** The throttled origin's one workload for each wanted path; undefined when none is wanted. */
async function benchThrottledOrigin(
  nginx: string | undefined,
  context: Omit<PathContext, 'sizes' | 'scratchDir'>,
  tempRoot: string,
  notes: string[],
): Promise<ThrottledOriginResult | undefined> {
  const specs = throttledPaths().filter((spec) => wanted(THROTTLED_ORIGIN, spec.name));
  if (specs.length === 0) return undefined;
  if (nginx === undefined) {
    notes.push(`origin ${THROTTLED_ORIGIN}: not run, nginx is not installed.`);
    return undefined;
  }
  const { bytes, runs, bytesPerSecond } = THROTTLED_PLAN;
  say(
    `origin ${THROTTLED_ORIGIN}: ${bytes / MIB} MiB, ${bytesPerSecond / MIB} MiB/s per connection`,
  );
  const result: ThrottledOriginResult = { bytes, runs, bytesPerSecond, targets: [] };
  const directory = path.join(tempRoot, 'throttled');
  const origin = own(await startThrottledOrigin(nginx, directory, context.buildDir));
  try {
    for (const [index, spec] of specs.entries()) {
      const name = label(THROTTLED_ORIGIN, spec.name);
      const pathContext = { ...context, sizes: [bytes], scratchDir: `${directory}-path-${index}` };
      let running: RunningPath | undefined;
      try {
        running = own(await spec.start(origin, pathContext));
        const download = await throttledOriginDownload(running, progress(name));
        result.targets.push({ path: spec.name, download });
      } catch (error) {
        result.targets.push({ path: spec.name, error: errorText(error) });
        say(`${name} failed: ${errorText(error)}`);
      } finally {
        if (running) await release(running);
      }
    }
  } finally {
    await release(origin);
  }
  return result;
}

/** A build of streamgate that ignores WORKERS runs one process: say so beside its figures. */
function singleProcessNotes(targets: TargetResult[]): string[] {
  const many = `streamgate (WORKERS=${config.workers})`;
  return targets
    .filter((target) => config.workers > 1 && target.path === many && target.processes === 1)
    .map(
      (target) =>
        `${label(target.origin, target.path)} ran as 1 process: this build of streamgate ignores WORKERS.`,
    );
}

function outputDirectory(): string {
  if (process.env.BENCH_OUT) return process.env.BENCH_OUT;
  return config.quick || config.only ? '.tmp/bench' : 'docs';
}

function planOf(firstOrigin: string | undefined): BenchRun['plan'] {
  return {
    workers: config.workers,
    streamgateFlags: streamgateArgv().slice(0, -1),
    small: config.small,
    singleRuns: config.single.runs,
    idleStarts: config.idleStarts,
    concurrent: config.concurrent,
    throttled: { ...config.throttled, origin: firstOrigin },
  };
}

async function writeResults(run: BenchRun): Promise<void> {
  const directory = outputDirectory();
  await mkdir(directory, { recursive: true });
  const markdown = renderMarkdown(run);
  await writeFile(path.join(directory, 'benchmarks.md'), markdown);
  await writeFile(path.join(directory, 'benchmarks.json'), `${JSON.stringify(run, null, 2)}\n`);
  await writeFile(path.join(directory, 'benchmarks.svg'), await renderChart(run));
  process.stdout.write(`${markdown}\n`);
  say(`written to ${directory}/benchmarks.{md,json,svg}`);
}

async function main(): Promise<number> {
  build();
  const nginx = ensureNginx();
  const notes: string[] = [];
  const plans = originPlans(nginx);
  for (const plan of plans) {
    if (plan.unavailable) notes.push(`origin ${plan.name}: not run, ${plan.unavailable}.`);
  }
  let chosen = plans.filter(
    (plan) =>
      plan.unavailable === undefined &&
      [...allPaths(config.workers).map((spec) => spec.name), METRICS_COST_LABEL].some((name) =>
        wanted(plan.name, name),
      ),
  );
  if (config.quick && config.only === undefined) {
    chosen = chosen.slice(0, 1);
    notes.push(`quick run: only the first origin (${chosen[0]?.name}).`);
  }
  for (const note of notes) say(note);
  const tempRoot = await mkdtemp(path.join(os.tmpdir(), 'streamgate-bench-'));
  // nginx workers run as an unprivileged user when the bench runs as root: they must read it.
  await chmod(tempRoot, 0o755);
  own({ stop: () => rm(tempRoot, { recursive: true, force: true }) });
  const context = { workers: config.workers, buildDir: BUILD_DIR, nginx };
  const targets: TargetResult[] = [];
  const metricsCosts: MetricsCostResult[] = [];
  const first = chosen[0]?.name;
  for (const plan of chosen) {
    const results = await benchOrigin(plan, plan.name === first, context, tempRoot, notes);
    targets.push(...results.targets);
    if (results.metricsCost) metricsCosts.push(results.metricsCost);
  }
  const throttledOrigin = await benchThrottledOrigin(nginx, context, tempRoot, notes);
  await cleanUp();
  notes.push(...singleProcessNotes(targets));
  const partial = { quick: config.quick, filter: config.only?.source, machine: machine(nginx) };
  const run = { ...partial, plan: planOf(first), notes, targets, throttledOrigin, metricsCosts };
  const elapsedS = (performance.now() - startedAt) / 1000;
  await writeResults({ ...run, goals: evaluateGoals(run), elapsedS });
  const failed = [...targets, ...(throttledOrigin?.targets ?? []), ...metricsCosts].some(
    (target) => target.error,
  );
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`bench failed: ${errorText(error)}`);
    cleanUp().finally(() => process.exit(1));
  },
);
