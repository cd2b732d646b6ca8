/**
 * What the metrics cost per small request. streamgate with metrics and its twin without
 * (METRICS=false) run side by side and take the same 16 KiB load at the same time, round after
 * round: whatever else the shared machine does meanwhile falls on both alike, and the scheduler
 * gives each the same share of the cores, so the twin that spends more CPU per request answers
 * that much fewer. The figure is the median of the rounds' ratios, each round's two loads taken
 * together as a pair, so that the drift between rounds falls out; the twin whose load starts
 * first alternates. The spread of the rounds' ratios says how far to trust it. Each round also
 * records the gateways' CPU per request.
 */
import { StreamMetrics } from '../src/ops/metrics.js';
import type { SourceAttemptMessage, StreamEndMessage } from '../src/stream/events.js';
import type { BenchConfig } from './config.js';
import type { RunningPath } from './paths.js';
import { type Progress, type SmallResult, smallRequests, spread } from './workloads.js';

export const METRICS_COST_LABEL = 'streamgate, metrics on vs off';

export interface MetricsCostResult {
  origin: string;
  workers: number;
  roundS: number;
  /** Why the comparison stopped early; the ratios are then absent. */
  error?: string;
  /** 16 KiB req/s of each round, in the order they ran. */
  withMetrics: number[];
  withoutMetrics: number[];
  /** The median of the rounds' with/without ratios. */
  ratio?: number;
  /** CPU µs of the gateway's processes per request, each round's, in the order they ran. */
  cpuWithMetrics: number[];
  cpuWithoutMetrics: number[];
  /** CPU per request: median with metrics / median without (above 1: metrics cost CPU). */
  cpuRatio?: number;
  /** The smallest and largest with/without ratio of single rounds. */
  pairRatios?: { min: number; max: number };
  /** Metric updates per request, measured in the bench's own process (bookkeepingMicros). */
  bookkeepingMicros?: number;
}

/** `config.metricsCost.rounds` rounds, each loading both running twins at once. */
export async function metricsCost(
  origin: string,
  twins: { on: RunningPath; off: RunningPath },
  config: BenchConfig,
  progress: Progress,
): Promise<MetricsCostResult> {
  const { rounds, roundS } = config.metricsCost;
  const roundConfig = { ...config, small: { ...config.small, durationS: roundS } };
  const withMetrics: number[] = [];
  const withoutMetrics: number[] = [];
  const cpuWithMetrics: number[] = [];
  const cpuWithoutMetrics: number[] = [];
  const pairs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const step = (s: string) => progress(`round ${round + 1}/${rounds}, both twins: ${s}`);
    const loadOn = () => smallRequests(twins.on, roundConfig, step);
    const loadOff = () => smallRequests(twins.off, roundConfig, () => {});
    let on: SmallResult;
    let off: SmallResult;
    if (round % 2 === 0) [on, off] = await Promise.all([loadOn(), loadOff()]);
    else [off, on] = await Promise.all([loadOff(), loadOn()]);
    withMetrics.push(on.reqPerS);
    withoutMetrics.push(off.reqPerS);
    if (on.cpuMicrosPerRequest !== undefined) cpuWithMetrics.push(on.cpuMicrosPerRequest);
    if (off.cpuMicrosPerRequest !== undefined) cpuWithoutMetrics.push(off.cpuMicrosPerRequest);
    pairs.push(on.reqPerS / off.reqPerS);
  }
  return {
    origin,
    workers: config.workers,
    roundS,
    withMetrics,
    withoutMetrics,
    ratio: spread(pairs).median,
    cpuWithMetrics,
    cpuWithoutMetrics,
    cpuRatio:
      cpuWithMetrics.length > 0 && cpuWithoutMetrics.length > 0
        ? spread(cpuWithMetrics).median / spread(cpuWithoutMetrics).median
        : undefined,
    pairRatios: { min: Math.min(...pairs), max: Math.max(...pairs) },
    bookkeepingMicros: bookkeepingMicros(),
  };
}

const BOOKKEEPING_CALLS = 200_000;

/**
 * Microseconds of metric updates per request, in this process: what `StreamMetrics` does for a
 * 16 KiB GET that streamed its body (stream start and end, one source attempt, the request's
 * end), median of three rounds. The rounds above measure the same cost through the whole
 * service, where the machine's noise is of the same size as the cost itself.
 */
export function bookkeepingMicros(): number {
  const metrics = new StreamMetrics();
  const scope = { route: 'getTaskImage', source: 'storage' };
  const attempt: SourceAttemptMessage = {
    scope,
    operation: 'read',
    key: 'tasks/1.jpg',
    range: undefined,
    attempt: 1,
    resumedFrom: undefined,
    outcome: 'ok',
    firstByteMs: 1.2,
  };
  const end: StreamEndMessage = {
    scope,
    outcome: 'complete',
    bytesFromSource: 16_384,
    bytesToClient: 16_384,
    resumes: 0,
  };
  const request = {
    route: scope.route,
    method: 'GET',
    status: 200,
    durationSeconds: 0.004,
    bytesToClient: 16_384,
  };
  const rounds: number[] = [];
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    for (let i = 0; i < BOOKKEEPING_CALLS; i++) {
      metrics.streamStarted();
      metrics.sourceAttempted(attempt);
      metrics.streamEnded(end);
      metrics.requestFinished(request);
    }
    rounds.push(((performance.now() - started) * 1000) / BOOKKEEPING_CALLS);
  }
  return spread(rounds).median;
}
