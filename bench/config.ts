/**
 * What one bench run measures and for how long, from the environment and the command line:
 * `BENCH_QUICK=1` for a smoke run of a minute or two, `--only <regex>` (or `BENCH_ONLY`) to run
 * the targets whose label ("origin / path") matches.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

const KIB = 1024;
const MIB = 1024 * KIB;

/** The whole plan of a run; every workload reads its sizes and counts from here. */
export interface BenchConfig {
  quick: boolean;
  /** Targets whose "origin / path" label does not match are not run (nor their origin started). */
  only: RegExp | undefined;
  /** Processes of every multi-process path: streamgate WORKERS, bare proxy, relay, nginx. */
  workers: number;
  small: {
    bytes: number;
    connections: number;
    warmupS: number;
    /** Each path's total load time, split into `rounds` (bench/workloads.ts says why). */
    durationS: number;
    rounds: number;
  };
  /** Single downloads, in rounds across the paths; the first of each size is hashed, untimed. */
  single: { bytes: number[]; runs: number };
  concurrent: { bytes: number; clients: number };
  throttled: { bytes: number; bytesPerSecond: number };
  /** Simultaneous 16 KiB rounds of streamgate with metrics and without (bench/metrics-cost.ts). */
  metricsCost: { rounds: number; roundS: number };
  /** Settling time between a gateway's start and its idle RSS sample. */
  idleSettleMs: number;
  /**
   * Fresh starts of each path whose idle memory is sampled, the median reported: one start may
   * keep a few MiB more of V8 heap than the next (docs/performance.md, Idle memory).
   */
  idleStarts: number;
}

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: expected an integer >= 1`);
  return value;
}

function onlyPattern(): RegExp | undefined {
  const { values } = parseArgs({ options: { only: { type: 'string' } }, strict: true });
  const pattern = values.only ?? process.env.BENCH_ONLY;
  return pattern ? new RegExp(pattern, 'i') : undefined;
}

/** Reads the plan: full by default, quick with BENCH_QUICK=1; BENCH_WORKERS overrides workers. */
export function loadConfig(): BenchConfig {
  const quick = process.env.BENCH_QUICK === '1';
  return {
    quick,
    only: onlyPattern(),
    workers: positiveInteger('BENCH_WORKERS', availableParallelism()),
    small: {
      bytes: 16 * KIB,
      connections: 32,
      warmupS: quick ? 0.5 : 1,
      durationS: quick ? 2 : 10,
      rounds: quick ? 1 : 5,
    },
    single: { bytes: [10 * MIB, 100 * MIB], runs: quick ? 3 : 21 },
    concurrent: { bytes: 10 * MIB, clients: quick ? 16 : 64 },
    throttled: { bytes: quick ? 64 * MIB : 1024 * MIB, bytesPerSecond: 16 * MIB },
    metricsCost: { rounds: quick ? 2 : 20, roundS: quick ? 1 : 4 },
    idleSettleMs: quick ? 300 : 1000,
    idleStarts: quick ? 1 : 3,
  };
}

/** Every object size the run reads, so that origins create exactly those objects. */
export function objectSizes(config: BenchConfig): number[] {
  const sizes = [config.small.bytes, ...config.single.bytes, config.concurrent.bytes];
  return [...new Set(sizes)];
}

export { KIB, MIB };
