import { describe, expect, it } from 'vitest';
import { evaluateGoals, relayRatios } from '../../bench/goals.js';
import type { MetricsCostResult } from '../../bench/metrics-cost.js';
import type { BenchRun, TargetResult } from '../../bench/results.js';

const MIB = 1024 * 1024;

function single(bytes: number, median: number) {
  const ms = { median, min: median, max: median };
  return { bytes, runs: 7, ms, ttfbMs: ms, cpuSecondsPerGiB: 1 };
}

function target(path: string, fields: Partial<TargetResult>): TargetResult {
  return { origin: 'nginx', path, single: [], ...fields };
}

function run(
  targets: TargetResult[],
  metricsCosts: MetricsCostResult[] = [],
): Omit<BenchRun, 'goals' | 'elapsedS'> {
  return {
    quick: false,
    filter: undefined,
    machine: {
      cpuModel: 'cpu',
      cores: 2,
      memoryGiB: 4,
      node: 'v20',
      kernel: '6',
      nginx: undefined,
      date: 'now',
    },
    plan: {
      workers: 2,
      streamgateFlags: [],
      small: { bytes: 16384, connections: 32, durationS: 10, warmupS: 1, rounds: 5 },
      singleRuns: 7,
      idleStarts: 3,
      concurrent: { clients: 64, bytes: 10 * MIB },
      throttled: { bytes: 1024 * MIB, bytesPerSecond: 16 * MIB, origin: 'nginx' },
    },
    notes: [],
    targets,
    metricsCosts,
  };
}

const small = (reqPerS: number) => ({
  reqPerS,
  p50Ms: 1,
  p99Ms: 2,
  failures: 0,
  cpuMicrosPerRequest: 100,
});

describe('evaluateGoals', () => {
  const relay = target('raw TCP relay', {
    single: [single(10 * MIB, 100), single(100 * MIB, 1000)],
  });
  const bare = target('bare Node proxy', { small: small(1000) });

  it('passes at the goals exactly and misses just beyond them', () => {
    const atGoals = target('streamgate (WORKERS=2)', {
      small: small(800),
      single: [single(10 * MIB, 130), single(100 * MIB, 1150)],
      processes: 3,
      idleRssMiB: 3 * 69,
      idleLargestRssMiB: 69,
      concurrent: {
        clients: 64,
        bytes: 10 * MIB,
        mibPerS: 1,
        // The tree's sum is over 200: the goal is on its largest process, as idle is.
        peakRssMiB: 3 * 199,
        peakAnonymousMiB: 150,
        peakLargestRssMiB: 199,
      },
      throttled: {
        bytes: 1024 * MIB,
        bytesPerSecond: 16 * MIB,
        seconds: 64,
        peakRssMiB: 3 * 99,
        peakAnonymousMiB: 60,
        peakLargestRssMiB: 99,
      },
    });
    const goals = evaluateGoals(run([relay, bare, atGoals])).filter((goal) =>
      goal.name.includes('WORKERS=2'),
    );
    expect(goals).toHaveLength(6);
    expect(goals.filter((goal) => !goal.pass)).toEqual([]);
    const beyond = target('streamgate (WORKERS=2)', {
      ...atGoals,
      small: small(799),
      single: [single(10 * MIB, 131), single(100 * MIB, 1151)],
      idleRssMiB: 3 * 60,
      idleLargestRssMiB: 70,
      concurrent: {
        clients: 64,
        bytes: 10 * MIB,
        mibPerS: 1,
        peakRssMiB: 200,
        peakAnonymousMiB: 150,
        peakLargestRssMiB: 200,
      },
      throttled: {
        bytes: 1024 * MIB,
        bytesPerSecond: 16 * MIB,
        seconds: 64,
        peakRssMiB: 100,
        peakAnonymousMiB: 60,
        peakLargestRssMiB: 100,
      },
    });
    const missed = evaluateGoals(run([relay, bare, beyond])).filter((goal) =>
      goal.name.includes('WORKERS=2'),
    );
    expect(missed).toHaveLength(6);
    expect(missed.filter((goal) => goal.pass)).toEqual([]);
  });

  it('judges the metrics cost by the ratio of the simultaneous rounds, on its own origin', () => {
    const streamgate = target('streamgate (WORKERS=2)', { small: small(900) });
    const cost = (ratio: number | undefined, origin = 'nginx'): MetricsCostResult => ({
      origin,
      workers: 2,
      roundS: 4,
      withMetrics: [],
      withoutMetrics: [],
      cpuWithMetrics: [],
      cpuWithoutMetrics: [],
      ...(ratio === undefined ? { error: 'did not start' } : { ratio }),
    });
    const metricsGoal = (costs: MetricsCostResult[]) =>
      evaluateGoals(run([relay, bare, streamgate], costs)).find((goal) =>
        goal.name.includes('with metrics / without'),
      );
    expect(metricsGoal([cost(0.95)])).toMatchObject({ value: 0.95, pass: true });
    expect(metricsGoal([cost(0.949)])).toMatchObject({ value: 0.949, pass: false });
    expect(metricsGoal([cost(undefined)])).toMatchObject({ value: undefined, pass: false });
    expect(metricsGoal([cost(1, 's3rver')])).toMatchObject({ value: undefined, pass: false });
  });

  it('counts a figure that was not measured as a miss, and never leaves it out', () => {
    const failed = target('streamgate (WORKERS=2)', { error: 'did not start' });
    const goals = evaluateGoals(run([relay, failed]));
    expect(goals.length).toBeGreaterThanOrEqual(9);
    for (const goal of goals) {
      expect(goal.value).toBeUndefined();
      expect(goal.pass).toBe(false);
    }
  });
});

describe('relayRatios', () => {
  it("sets every path's download time over the relay's of its own origin, size by size", () => {
    const relay = (origin: string, ms: number) => ({
      ...target('raw TCP relay', { single: [single(10 * MIB, ms), single(100 * MIB, 10 * ms)] }),
      origin,
    });
    const bare = target('bare Node proxy', {
      single: [single(10 * MIB, 130), single(100 * MIB, 1100)],
    });
    const otherOrigin = {
      ...target('bare Node proxy', { single: [single(10 * MIB, 60)] }),
      origin: 's3rver',
    };
    const direct = target('direct', { single: [single(10 * MIB, 50)] });
    const ratios = relayRatios({
      targets: [relay('nginx', 100), relay('s3rver', 50), direct, bare, otherOrigin],
    });
    expect(ratios).toEqual([
      { origin: 'nginx', path: 'bare Node proxy', bytes: 10 * MIB, ratio: 1.3 },
      { origin: 'nginx', path: 'bare Node proxy', bytes: 100 * MIB, ratio: 1.1 },
      { origin: 's3rver', path: 'bare Node proxy', bytes: 10 * MIB, ratio: 1.2 },
    ]);
  });

  it('leaves the ratio undefined where the relay has no figure', () => {
    const bare = target('bare Node proxy', { single: [single(10 * MIB, 130)] });
    expect(relayRatios({ targets: [bare] })).toEqual([
      { origin: 'nginx', path: 'bare Node proxy', bytes: 10 * MIB, ratio: undefined },
    ]);
  });
});
