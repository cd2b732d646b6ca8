/**
 * The shape of one bench run, as docs/benchmarks.json stores it and the report renders it.
 */
import type { MetricsCostResult } from './metrics-cost.js';
import type { ThrottledOriginResult } from './throttled-origin.js';
import type { ConcurrentResult, SingleResult, SmallResult, ThrottledResult } from './workloads.js';

/** Everything measured for one origin / path pair; a workload that does not apply is absent. */
export interface TargetResult {
  origin: string;
  path: string;
  /** Processes in the path's tree once idle (none for direct). */
  processes?: number;
  /** Each idle figure is the median over `idleStarts` fresh starts of the path. */
  idleStarts?: number;
  idleRssMiB?: number;
  /** The idle RSS of the tree's largest process: a worker, for a cluster (bench/proc.ts). */
  idleLargestRssMiB?: number;
  /** The tree's idle anonymous memory: what it allocated, without file pages (bench/proc.ts). */
  idleAnonymousMiB?: number;
  small?: SmallResult;
  single: SingleResult[];
  concurrent?: ConcurrentResult;
  throttled?: ThrottledResult;
  /** Why the target stopped early; what it measured before stays. */
  error?: string;
}

/** A ratio or figure the README quotes, with its goal. */
export interface Goal {
  origin: string;
  name: string;
  value: number | undefined;
  unit: 'x' | 'MiB';
  comparison: '>=' | '<=' | '<';
  target: number;
  pass: boolean;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
  nginx: string | undefined;
  date: string;
}

export interface BenchRun {
  quick: boolean;
  filter: string | undefined;
  machine: Machine;
  plan: {
    workers: number;
    /** The Node flags streamgate ran with: those of package.json's start script. */
    streamgateFlags: string[];
    small: {
      bytes: number;
      connections: number;
      durationS: number;
      warmupS: number;
      rounds: number;
    };
    singleRuns: number;
    idleStarts: number;
    concurrent: { clients: number; bytes: number };
    throttled: { bytes: number; bytesPerSecond: number; origin: string | undefined };
  };
  /** Origins and paths that were skipped, and why. */
  notes: string[];
  targets: TargetResult[];
  /** One large download per path through a rate-capped origin (bench/throttled-origin.ts). */
  throttledOrigin?: ThrottledOriginResult;
  /** Per origin, streamgate with metrics against without, in simultaneous rounds. */
  metricsCosts: MetricsCostResult[];
  goals: Goal[];
  elapsedS: number;
}
