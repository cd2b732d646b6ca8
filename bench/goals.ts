/**
 * The figures the README quotes, each against its goal: streamgate beside the bare Node proxy
 * (the least a Node S3 gateway does) and the raw TCP relay (the floor for any Node gateway),
 * and its memory. A figure that could not be measured is a miss, never left out.
 */
import type { BenchRun, Goal, TargetResult } from './results.js';

const MIB = 1024 * 1024;

function find(targets: TargetResult[], origin: string, path: string): TargetResult | undefined {
  return targets.find((target) => target.origin === origin && target.path === path);
}

function medianMs(target: TargetResult | undefined, bytes: number): number | undefined {
  return target?.single.find((single) => single.bytes === bytes)?.ms.median;
}

/** A path's median download time over the raw TCP relay's, on one origin, for one size. */
export interface RelayRatio {
  origin: string;
  path: string;
  bytes: number;
  ratio: number | undefined;
}

/**
 * Every path's 10 and 100 MiB time over the relay's, origin by origin: what streamgate's time
 * goals sit on, since the bare proxies show what the least a Node gateway does pays beyond the
 * floor on the same machine in the same run.
 */
export function relayRatios(run: Pick<BenchRun, 'targets'>): RelayRatio[] {
  return run.targets.flatMap((target) => {
    if (target.path === 'raw TCP relay' || target.path === 'direct') return [];
    const relay = find(run.targets, target.origin, 'raw TCP relay');
    return target.single.map(({ bytes }) => ({
      origin: target.origin,
      path: target.path,
      bytes,
      ratio: ratio(medianMs(target, bytes), medianMs(relay, bytes)),
    }));
  });
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

function goal(
  origin: string,
  name: string,
  value: number | undefined,
  unit: Goal['unit'],
  comparison: Goal['comparison'],
  target: number,
): Goal {
  const pass =
    value !== undefined &&
    (comparison === '>='
      ? value >= target
      : comparison === '<='
        ? value <= target
        : value < target);
  return { origin, name, value, unit, comparison, target, pass };
}

/** Every goal of every origin that streamgate was measured against. */
export function evaluateGoals(run: Omit<BenchRun, 'goals' | 'elapsedS'>): Goal[] {
  const { workers, concurrent, throttled } = run.plan;
  const many = `streamgate (WORKERS=${workers})`;
  const gateways = workers > 1 ? [many, 'streamgate (WORKERS=1)'] : [many];
  const origins = [...new Set(run.targets.map((target) => target.origin))];
  return origins.flatMap((origin) => {
    const at = (path: string) => find(run.targets, origin, path);
    const streamgate = at(many);
    if (streamgate === undefined) return [];
    const relay = at('raw TCP relay');
    const bare = at('bare Node proxy');
    const goals = [
      goal(
        origin,
        `16 KiB req/s: ${many} / bare Node proxy (${workers} processes)`,
        ratio(streamgate.small?.reqPerS, bare?.small?.reqPerS),
        'x',
        '>=',
        0.8,
      ),
      goal(
        origin,
        `hot 16 KiB req/s, cache on: streamgate / bare Node proxy (${workers} processes)`,
        ratio(
          at(`streamgate, cache on (WORKERS=${workers})`)?.small?.reqPerS,
          bare?.small?.reqPerS,
        ),
        'x',
        '>=',
        1.5,
      ),
      goal(
        origin,
        `16 KiB req/s with metrics / without (METRICS=false), ${workers} processes, simultaneous rounds`,
        run.metricsCosts.find((cost) => cost.origin === origin)?.ratio,
        'x',
        '>=',
        0.95,
      ),
      ...[
        { bytes: 100 * MIB, target: 1.15 },
        { bytes: 10 * MIB, target: 1.3 },
      ].map(({ bytes, target }) =>
        goal(
          origin,
          `${bytes / MIB} MiB download time: ${many} / raw TCP relay`,
          ratio(medianMs(streamgate, bytes), medianMs(relay, bytes)),
          'x',
          '<=',
          target,
        ),
      ),
    ];
    for (const path of gateways) {
      const gateway = at(path);
      goals.push(
        goal(
          origin,
          `idle RSS per process (its largest): ${path}`,
          gateway?.idleLargestRssMiB,
          'MiB',
          '<',
          70,
        ),
      );
      goals.push(
        goal(
          origin,
          `peak RSS per process (its largest) at ${concurrent.clients} x ${concurrent.bytes / MIB} MiB: ${path}`,
          gateway?.concurrent?.peakLargestRssMiB,
          'MiB',
          '<',
          200,
        ),
      );
      if (throttled.origin === origin) {
        const label = `${throttled.bytes / MIB} MiB @ ${throttled.bytesPerSecond / MIB} MiB/s`;
        goals.push(
          goal(
            origin,
            `peak RSS per process (its largest) at ${label}: ${path}`,
            gateway?.throttled?.peakLargestRssMiB,
            'MiB',
            '<',
            100,
          ),
        );
      }
    }
    return goals;
  });
}
