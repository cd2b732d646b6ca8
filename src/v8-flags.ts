import v8 from 'node:v8';

/**
 * V8 flags every worker starts with (and `npm start`'s single process: a test keeps the start
 * script equal).
 * - A young generation of 1 MiB instead of up to 16 MiB scavenges the short-lived objects of each
 *   chunk relayed sooner, and with them the socket buffers they hold: less memory at rest and
 *   under load, for the same CPU per GiB relayed as 2 MiB once the heap factor below is set.
 * - `--liftoff-only` keeps WebAssembly in V8's baseline compiler. The only WebAssembly here is
 *   undici's HTTP parser, whose one large state-machine function TurboFan would recompile once
 *   it is hot: on a background thread, in about 36 MiB of compiler memory, which that thread's
 *   malloc arena keeps partly resident (up to 10 MiB of a process idling after its first
 *   requests). The parser does not need the faster code: 16 KiB and 100 MiB downloads take the
 *   same time without it (docs/cluster.md, V8 flags).
 * - `--v8-pool-size=1`: one V8 helper thread (concurrent marking, background compiles) instead
 *   of four. A process per core already keeps the cores busy; each further helper is a stack and
 *   a malloc arena of its own (3-4 MiB less at rest, by hand), and competes with the workers for
 *   the cores (10% more 16 KiB requests side by side on two cores, the same CPU per GiB).
 * - `--no-concurrent-recompilation`: TurboFan optimizes hot JavaScript on the main thread instead
 *   of the helper. On the helper its compiler zones come from that thread's own malloc arena,
 *   which keeps 2-5 MiB of them resident after the first requests: the start-to-start spread of
 *   idle memory. With the flag one process idles 1-3 MiB lower and tight, a slow reader peaks
 *   4 MiB lower, and 16 KiB, 10 MiB and 100 MiB take the same time (docs/cluster.md, V8 flags).
 */
export const WORKER_V8_FLAGS: readonly string[] = [
  '--max-semi-space-size=1',
  '--liftoff-only',
  '--v8-pool-size=1',
  '--no-concurrent-recompilation',
];

/**
 * The old generation's growing factor once the service serves, as V8's `--heap-growing-percent`
 * (3x the live heap). Every socket read is a new buffer outside the heap. Node 20's V8 adds the
 * bytes of those allocated since the last mark-compact to the old generation when it checks the
 * limit, but frees dead young ones only at a scavenge, which it forces once 32 MiB of them wait.
 * At the default factor the limit sits about 10 MiB above the live heap, so a large download ran
 * a full mark-compact every 30 MiB or so, a third of its CPU; at 3x the scavenge comes first.
 * Set after start-up, not on the command line, so that start-up's garbage is still collected at
 * the default factor (docs/cluster.md, V8 flags, has what that measured).
 */
const SERVING_HEAP_GROWING_PERCENT = 200;

/**
 * The workers' `execArgv`: the primary's own (which come last, so they win), preceded by each
 * of WORKER_V8_FLAGS that neither they nor NODE_OPTIONS set. NODE_OPTIONS is read before the
 * command line, so a default placed there would silently override the user's.
 */
export function workerExecArgv(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const given = givenFlags(execArgv, nodeOptions);
  return [...WORKER_V8_FLAGS.filter((flag) => !given.includes(flagName(flag))), ...execArgv];
}

/**
 * Sets SERVING_HEAP_GROWING_PERCENT in this process, unless the command line or NODE_OPTIONS
 * chose a value; returns whether it did. V8 reads the factor each time it sets the next limit.
 */
export function growHeapForServing(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): boolean {
  if (givenFlags(execArgv, nodeOptions).includes('--heap-growing-percent')) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}`);
  return true;
}

function givenFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map(flagName);
}

/**
 * `--max_semi_space_size=4` → `--max-semi-space-size`: V8 reads `_` and `-` alike. A boolean's
 * negation names the same flag: `--no-liftoff-only` → `--liftoff-only`.
 */
function flagName(argument: string): string {
  return (argument.split('=')[0] ?? '').replaceAll('_', '-').replace(/^--no-/, '--');
}
