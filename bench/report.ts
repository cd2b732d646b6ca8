/**
 * Renders a bench run as markdown (docs/benchmarks.md): the machine, the plan, per origin one
 * table of speed and one of memory and CPU, then the goals with PASS or MISS beside each and
 * every path's download times over the raw TCP relay's.
 */
import { relayRatios } from './goals.js';
import type { BenchRun, Goal, TargetResult } from './results.js';
import { type SingleResult, spread } from './workloads.js';

const MIB = 1024 * 1024;
const NONE = '-';

function fixed(value: number | undefined, digits = 0): string {
  return value === undefined || !Number.isFinite(value) ? NONE : value.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}

function single(target: TargetResult, bytes: number): SingleResult | undefined {
  return target.single.find((result) => result.bytes === bytes);
}

function downloadCell(result: SingleResult | undefined): string {
  if (result === undefined) return NONE;
  const { median, min, max } = result.ms;
  return `${fixed(median, median < 100 ? 1 : 0)} (${fixed(min, 0)}-${fixed(max, 0)})`;
}

function speedTable(run: BenchRun, targets: TargetResult[]): string {
  const { small, concurrent } = run.plan;
  const [smallBytes, largeBytes] = [10 * MIB, 100 * MIB];
  const header = [
    'path',
    `${small.bytes / 1024} KiB req/s`,
    'p50 ms',
    'p99 ms',
    '10 MiB ms (min-max)',
    '10 MiB TTFB ms',
    '100 MiB ms (min-max)',
    '100 MiB MiB/s',
    `${concurrent.clients}x${concurrent.bytes / MIB} MiB MiB/s`,
  ];
  const rows = targets.map((target) => {
    const large = single(target, largeBytes);
    return [
      target.path,
      fixed(target.small?.reqPerS) +
        (target.small?.failures ? ` (${target.small.failures} failed)` : ''),
      fixed(target.small?.p50Ms, 1),
      fixed(target.small?.p99Ms, 1),
      downloadCell(single(target, smallBytes)),
      fixed(single(target, smallBytes)?.ttfbMs.median, 1),
      downloadCell(large),
      fixed(large && largeBytes / MIB / (large.ms.median / 1000)),
      fixed(target.concurrent?.mibPerS),
    ];
  });
  return table(header, rows);
}

function memoryTable(run: BenchRun, targets: TargetResult[]): string {
  const { concurrent, throttled } = run.plan;
  const header = [
    'path',
    'processes',
    'idle RSS MiB (largest process)',
    'idle anonymous MiB',
    `peak RSS MiB (anonymous; largest process), ${concurrent.clients}x${concurrent.bytes / MIB} MiB`,
    `peak RSS MiB (anonymous; largest process), ${throttled.bytes / MIB} MiB @ ${throttled.bytesPerSecond / MIB} MiB/s`,
    'CPU s per GiB (100 MiB runs)',
    `CPU µs per ${run.plan.small.bytes / 1024} KiB request`,
  ];
  const rows = targets.map((target) => [
    target.path,
    fixed(target.processes),
    target.idleRssMiB === undefined
      ? NONE
      : `${fixed(target.idleRssMiB)} (${fixed(target.idleLargestRssMiB)})`,
    fixed(target.idleAnonymousMiB),
    peakCell(target.concurrent, target.processes),
    peakCell(target.throttled, target.processes),
    fixed(single(target, 100 * MIB)?.cpuSecondsPerGiB, 2),
    fixed(target.small?.cpuMicrosPerRequest),
  ]);
  return table(header, rows);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A peak's RSS, with its anonymous memory and, for several processes, the largest one's peak. */
function peakCell(
  peak:
    | {
        peakRssMiB: number | undefined;
        peakAnonymousMiB: number | undefined;
        peakLargestRssMiB: number | undefined;
      }
    | undefined,
  processes: number | undefined,
): string {
  if (peak?.peakRssMiB === undefined) return NONE;
  const largest = processes === 1 ? '' : `; ${fixed(peak.peakLargestRssMiB)}`;
  return `${fixed(peak.peakRssMiB)} (${fixed(peak.peakAnonymousMiB)}${largest})`;
}

/** The throttled origin: one large download per path, median seconds and MiB/s. */
function throttledOriginSection(run: BenchRun): string[] {
  const result = run.throttledOrigin;
  if (result === undefined) return [];
  const rows = result.targets.map((target) => {
    const seconds = target.download && target.download.ms.median / 1000;
    return [
      target.path,
      target.error ? `failed: ${target.error.split('\n')[0]}` : fixed(seconds, 2),
      seconds ? fixed(result.bytes / MIB / seconds) : '-',
      fixed(target.download?.ttfbMs.median, 1),
    ];
  });
  return [
    '## Origin: nginx (throttled)',
    '',
    `The nginx origin behind a proxy that caps every connection at ${result.bytesPerSecond / MIB} MiB/s (bench/throttle-proxy.ts), as one connection to a far object store is capped: one ${result.bytes / MIB} MiB download, median of ${result.runs} after a sha256-checked one. streamgate with \`PARALLEL_PARTS=4\` fetches 8 MiB parts over four connections (docs/parallel-parts.md).`,
    '',
    table(['path', 's', 'MiB/s', 'TTFB ms'], rows),
    '',
  ];
}

/** Per origin, the simultaneous rounds of streamgate with metrics and without. */
function metricsCostSection(run: BenchRun): string[] {
  if (run.metricsCosts.length === 0) return [];
  const medianAndRange = (values: number[]) => {
    if (values.length === 0) return NONE;
    const { median, min, max } = spread(values);
    return `${fixed(median)} (${fixed(min)}-${fixed(max)})`;
  };
  const rows = run.metricsCosts.map((cost) => [
    cost.origin,
    String(cost.withMetrics.length),
    medianAndRange(cost.withMetrics),
    medianAndRange(cost.withoutMetrics),
    cost.error ? `failed: ${cost.error.split('\n')[0]}` : `${fixed(cost.ratio, 3)}x`,
    cost.pairRatios ? `${fixed(cost.pairRatios.min, 2)}-${fixed(cost.pairRatios.max, 2)}` : NONE,
    medianAndRange(cost.cpuWithMetrics),
    medianAndRange(cost.cpuWithoutMetrics),
    cost.cpuRatio === undefined ? NONE : `${fixed(cost.cpuRatio, 3)}x`,
    fixed(cost.bookkeepingMicros, 2),
  ]);
  const [first] = run.metricsCosts;
  return [
    '## Metrics cost',
    '',
    `streamgate (WORKERS=${first?.workers}) with metrics and its twin with \`METRICS=false\`, both running, take the same load at the same time: ${first?.roundS} s rounds of 16 KiB requests, each after a warm-up, with the connections of the table above on each. Whatever else the machine does falls on both alike, and the scheduler gives each the same share of the cores, so the one that spends more CPU per request answers that much fewer. Each round's two loads are a pair, the twin that starts first alternating; the ratio is the median of the rounds' ratios, whose range is the next column. CPU is each twin's processes' user + system time per request answered, in the same rounds (informative: it swings as much as req/s does here). The last column is the metric updates of one 16 KiB GET timed alone in the bench's process (\`bookkeepingMicros\` in bench/metrics-cost.ts).`,
    '',
    table(
      [
        'origin',
        'rounds',
        'req/s with metrics, median (min-max)',
        'req/s without',
        'ratio',
        'pair ratios',
        'CPU µs per request with metrics',
        'CPU µs without',
        'CPU ratio',
        'metric updates µs per request',
      ],
      rows,
    ),
    '',
  ];
}

function goalValue(goal: Goal): string {
  if (goal.value === undefined) return 'not measured';
  return goal.unit === 'x' ? `${goal.value.toFixed(2)}x` : `${goal.value.toFixed(0)} MiB`;
}

function goalsTable(goals: Goal[]): string {
  const rows = goals.map((goal) => [
    goal.origin,
    goal.name,
    goalValue(goal),
    `${goal.comparison} ${goal.target}${goal.unit === 'x' ? 'x' : ' MiB'}`,
    goal.pass ? 'PASS' : '**MISS**',
  ]);
  return table(['origin', 'figure', 'value', 'goal', 'result'], rows);
}

function banner(run: BenchRun): string[] {
  const lines: string[] = [];
  if (run.quick) {
    lines.push(
      '> **Quick smoke run (`BENCH_QUICK=1`)**: short durations, few runs, smaller workloads.',
      '> These numbers show that the bench works, not how fast streamgate is; run `npm run bench`',
      '> on a quiet machine for the real figures.',
      '',
    );
  }
  if (run.filter) lines.push(`> Only the targets matching \`${run.filter}\`.`, '');
  return lines;
}

/** Each path's download times over the relay's: a column per origin and size, a row per path. */
function relayRatiosSection(run: BenchRun): string[] {
  const column = (origin: string, bytes: number) => `${origin}, ${bytes / MIB} MiB`;
  const cells = new Map<string, string>();
  const columns = new Set<string>();
  const paths = new Set<string>();
  for (const { origin, path, bytes, ratio } of relayRatios(run)) {
    columns.add(column(origin, bytes));
    paths.add(path);
    cells.set(
      `${path}|${column(origin, bytes)}`,
      ratio === undefined ? NONE : `${ratio.toFixed(2)}x`,
    );
  }
  if (columns.size === 0) return [];
  const rows = [...paths].map((path) => [
    path,
    ...[...columns].map((name) => cells.get(`${path}|${name}`) ?? NONE),
  ]);
  return [
    "Every path's median download time over the raw TCP relay's, in the same rounds: the time goals",
    'above are on the streamgate row; the bare proxies show what the least a Node gateway that parses',
    'HTTP pays beyond the relay on the same machine.',
    '',
    table(['path', ...columns], rows),
    '',
  ];
}

/** The whole markdown page of one run. */
export function renderMarkdown(run: BenchRun): string {
  const { machine, plan } = run;
  const out = [
    '# Benchmarks',
    '',
    ...banner(run),
    `Generated by \`npm run bench\` (bench/run.ts) on ${machine.date}, in ${run.elapsedS.toFixed(0)} s:`,
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(0)} GiB, Linux ${machine.kernel},`,
    `Node ${machine.node}${machine.nginx ? `, nginx ${machine.nginx}` : ''}. Everything on 127.0.0.1: origin, paths and`,
    'clients share the same cores, so compare figures within one run, not across runs.',
    '',
    `- ${plan.small.bytes / 1024} KiB: autocannon, ${plan.small.connections} keep-alive connections, ${plan.small.durationS} s per path after a ${plan.small.warmupS} s warm-up, in ${plural(plan.small.rounds, 'round')} (as the large downloads below); req/s, p50 and p99 are the medians of the rounds.`,
    `- 10 MiB and 100 MiB: median of ${plan.singleRuns} downloads (min-max), after one download whose sha256 is checked; TTFB is the time to the first body byte. Every path of an origin runs meanwhile and the downloads go in rounds, one per path in an order rotated each round, so that the machine's drift falls on all paths alike; the paths not measured wait idle.`,
    `- ${plan.concurrent.clients}x${plan.concurrent.bytes / MIB} MiB: all at once; aggregate MiB/s and the peak RSS of the path's processes (VmRSS of the process and its children, summed, every 50 ms), with in parentheses their anonymous memory at that peak and, for several processes, the highest VmRSS one process reached, on which the per-process goal is judged (as idle).`,
    `- Idle RSS: the sum over the path's processes one second after it answered, and in parentheses its largest process, on which the per-process goal is judged: for a cluster that is a worker, since the primary loads no app and idles far lighter. Each idle figure is the median over ${plan.idleStarts} fresh starts of the path, one after the other while the paths started before wait idle: one start of the same code may keep a few MiB more of V8 heap than the next.`,
    `- Anonymous memory (smaps_rollup's \`Anonymous\`, summed over the path's processes) is what the processes allocated themselves: V8's heap, buffers, stacks. It leaves out file pages such as the Node binary's, which the kernel holds once for every node process on the machine and the RSS sum counts once per process (about 40 MiB in each streamgate process). The goals are on RSS.`,
    `- ${plan.throttled.bytes / MIB} MiB @ ${plan.throttled.bytesPerSecond / MIB} MiB/s: one client reading no faster than that, on the ${plan.throttled.origin ?? 'first'} origin, for the streaming gateways; peak RSS as above.`,
    `- CPU: user + system seconds of the path's processes over the timed 100 MiB downloads, per GiB delivered.`,
    `- streamgate runs as \`npm start\` runs it: \`node ${plan.streamgateFlags.join(' ')} dist/main.js\`.`,
    `- Multi-process paths run ${plan.workers} processes (node:cluster, nginx worker_processes); "-" means the workload does not apply (no gateway process to measure, or a buffered port that would hold the whole object).`,
    '',
  ];
  for (const note of run.notes) out.push(`- Note: ${note}`);
  if (run.notes.length > 0) out.push('');
  const origins = [...new Set(run.targets.map((target) => target.origin))];
  for (const origin of origins) {
    const targets = run.targets.filter((target) => target.origin === origin);
    out.push(
      `## Origin: ${origin}`,
      '',
      speedTable(run, targets),
      '',
      memoryTable(run, targets),
      '',
    );
    for (const target of targets) {
      if (target.error) out.push(`- ${target.path} failed: ${target.error.split('\n')[0]}`);
    }
    if (targets.some((target) => target.error)) out.push('');
  }
  out.push(...throttledOriginSection(run));
  out.push(...metricsCostSection(run));
  out.push(
    '## Ratios and goals',
    '',
    'streamgate beside the bare Node proxy (node:http + one undici Pool + SigV4, the least a Node S3',
    'gateway does) and the raw TCP relay (no HTTP parsing: the floor for any Node gateway). The bare',
    'Fastify proxy, the same proxy as one Fastify route in one process with the Node flags of',
    'streamgate, is what the framework costs by itself, beside streamgate (WORKERS=1).',
    '',
    run.goals.length > 0 ? goalsTable(run.goals) : 'No streamgate target ran.',
    '',
    ...relayRatiosSection(run),
    '![benchmark chart](benchmarks.svg)',
    '',
    '## Running it',
    '',
    '```sh',
    'npm run bench                          # everything: 15-18 minutes on 2 cores; writes docs/benchmarks.{md,json,svg}',
    'npm run bench:quick                    # BENCH_QUICK=1: a smoke run of a minute or two, first origin only',
    'npm run bench -- --only \'nginx / stream\'  # targets whose "origin / path" matches (or BENCH_ONLY)',
    '```',
    '',
    'A quick or filtered run writes to .tmp/bench/ unless `BENCH_OUT` names a directory.',
    '`BENCH_WORKERS` sets the processes of the multi-process paths (default: the cores),',
    '`BENCH_MAX_MINUTES` the limit after which the bench stops everything and fails (25, quick 6).',
    'nginx-light is installed with scripts/lib/apt.sh when missing (without it the nginx origin and',
    'the nginx proxy are left out and s3rver becomes the first origin); Ceph RGW is measured when',
    '`radosgw` is installed (scripts/ceph-rgw.sh starts it on 127.0.0.1).',
    '',
  );
  return out.join('\n');
}
