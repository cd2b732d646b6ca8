/**
 * What the metrics cost per small request. streamgate with metrics and its twin without
 * (METRICS=false) run side by side, and short 16 KiB rounds alternate between them (on, off,
 * off, on, on, off, ...), so that the machine's drift during the comparison falls on both alike
 * instead of on whichever ran second. The figure is the ratio of the two medians; the spread of
 * the ratios of each adjacent pair says how far to trust it.
 *
 * On a machine whose cores the load generator and the origin share with the gateway, req/s moves
 * with whatever else runs; the gateway's CPU per request does not, so each round records that too,
 * and its ratio is the cost itself: at the same CPU, req/s falls by as much as CPU per request
 * rises.
 */
import { StreamMetrics } from '../src/ops/metrics.js';
import type { SourceAttemptMessage, StreamEndMessage } from '../src/stream/events.js';
import type { BenchConfig } from './config.js';
import type { RunningPath } from './paths.js';
import { type Progress, smallRequests, spread } from './workloads.js';

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
  /** Median with metrics / median without. */
  ratio?: number;
  /** CPU µs of the gateway's processes per request, each round's, in the order they ran. */
  cpuWithMetrics: number[];
  cpuWithoutMetrics: number[];
  /** CPU per request: median with metrics / median without (above 1: metrics cost CPU). */
  cpuRatio?: number;
  /** The smallest and largest with/without ratio of the rounds run back to back. */
  pairRatios?: { min: number; max: number };
  /** Metric updates per request, measured in the bench's own process (bookkeepingMicros). */
  bookkeepingMicros?: number;
}

/** `config.metricsCost.rounds` alternating rounds on the two running twins. */
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
    const measure = async (side: 'on' | 'off') => {
      const step = (s: string) => progress(`round ${round + 1}/${rounds}, metrics ${side}: ${s}`);
      return smallRequests(twins[side], roundConfig, step);
    };
    const onFirst = round % 2 === 0;
    const first = await measure(onFirst ? 'on' : 'off');
    const second = await measure(onFirst ? 'off' : 'on');
    const [on, off] = onFirst ? [first, second] : [second, first];
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
    ratio: spread(withMetrics).median / spread(withoutMetrics).median,
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
