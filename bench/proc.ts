/**
 * Memory and CPU of a process tree from /proc (Linux): a gateway with workers is a primary and
 * its children, so every figure sums the whole tree.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // the process exited between listing and reading
  }
}

/** The pid and every descendant of it that is alive now. */
export function processTree(root: number): number[] {
  const tree: number[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    tree.push(pid);
    // Children of the main thread are enough: Node spawns from its event-loop thread.
    const children = readOrEmpty(`/proc/${pid}/task/${pid}/children`).trim();
    if (children) pending.push(...children.split(/\s+/).map(Number));
  }
  return tree;
}

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readOrEmpty(`/proc/${pid}/status`))?.[1] ?? 0) * 1024;
}

/** Resident memory of the tree, in bytes (the sum of every process's VmRSS). */
export function treeRssBytes(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + rssBytes(pid), 0);
}

/**
 * The VmRSS of the tree's largest process, in bytes: what "per process" means for a cluster,
 * whose primary (it loads no app) is far lighter than its workers, so an average flatters them.
 */
export function largestProcessRssBytes(root: number): number {
  return Math.max(0, ...processTree(root).map(rssBytes));
}

/** CPU time (user + system) the live processes of the tree have used, in seconds. */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    // Fields after the parenthesised command name, which may itself contain spaces.
    const stat = readOrEmpty(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0); // utime, stime
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/**
 * Anonymous memory of the tree, in bytes (the sum of every process's `Anonymous` resident
 * pages): what its processes allocated themselves (V8's heap, buffers, stacks). Unlike the RSS
 * sum it leaves out file pages such as the Node binary's, which the kernel keeps once for every
 * node process on the machine, and which the RSS sum counts once per process.
 */
export function treeAnonymousBytes(root: number): number {
  let kib = 0;
  for (const pid of processTree(root)) {
    const rollup = readOrEmpty(`/proc/${pid}/smaps_rollup`);
    kib += Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
  }
  return kib * 1024;
}

export interface PeakMemory {
  rssBytes: number;
  /** The tree's anonymous memory when its RSS peaked (smaps_rollup costs too much to read often). */
  anonymousBytes: number;
  /** The highest VmRSS any one process of the tree reached, sampled with the sum. */
  largestProcessRssBytes: number;
}

/** Samples the tree's RSS every `intervalMs` until stopped; `stop()` returns the peak. */
export function samplePeakRss(root: number, intervalMs = 50): { stop(): PeakMemory } {
  const peak = { rssBytes: 0, anonymousBytes: 0, largestProcessRssBytes: 0 };
  const sample = () => {
    const each = processTree(root).map(rssBytes);
    const sum = each.reduce((total, bytes) => total + bytes, 0);
    peak.largestProcessRssBytes = Math.max(peak.largestProcessRssBytes, ...each);
    if (sum > peak.rssBytes)
      Object.assign(peak, { rssBytes: sum, anonymousBytes: treeAnonymousBytes(root) });
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
