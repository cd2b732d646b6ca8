import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { largestProcessRssBytes, processTree, treeRssBytes } from '../../bench/proc.js';

const MIB = 1024 * 1024;
const roots: ChildProcess[] = [];

afterEach(() => {
  for (const root of roots.splice(0)) {
    for (const pid of processTree(root.pid as number)) process.kill(pid, 'SIGKILL');
  }
});

/**
 * A parent that forks a child holding `childMiB` of touched memory, as a cluster primary and a
 * busy worker; resolves once the child has allocated it.
 */
async function parentWithHeavyChild(childMiB: number): Promise<number> {
  const childCode = `const held = Buffer.alloc(${childMiB * MIB}, 1); console.log('ready'); setInterval(() => held, 1e3);`;
  const parentCode = `const { spawn } = require('node:child_process'); spawn(process.execPath, ['-e', ${JSON.stringify(childCode)}], { stdio: 'inherit' }); setInterval(() => {}, 1e3);`;
  const parent = spawn(process.execPath, ['-e', parentCode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  roots.push(parent);
  await once(parent.stdout as NodeJS.ReadableStream, 'data');
  return parent.pid as number;
}

describe('process tree memory', () => {
  it('reports the largest process, not the average, beside the sum', async () => {
    const root = await parentWithHeavyChild(96);
    expect(processTree(root)).toHaveLength(2);
    const largest = largestProcessRssBytes(root);
    const total = treeRssBytes(root);
    expect(largest).toBeGreaterThan(96 * MIB);
    expect(largest).toBeLessThan(total);
    // The light parent pulls an average well below the heavy child.
    expect(total / 2).toBeLessThan(largest - 20 * MIB);
  });
});
