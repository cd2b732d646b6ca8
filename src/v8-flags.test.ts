import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { growHeapForServing, WORKER_V8_FLAGS, workerExecArgv } from './v8-flags.js';

describe('workerExecArgv', () => {
  it("puts the default V8 flags before the primary's own", () => {
    expect(workerExecArgv(['--import', 'tsx'], undefined)).toEqual([
      ...WORKER_V8_FLAGS,
      '--import',
      'tsx',
    ]);
  });

  it('leaves out a default that the command line or NODE_OPTIONS sets', () => {
    expect(workerExecArgv(['--max-semi-space-size=16'], undefined)).toEqual([
      '--liftoff-only',
      '--v8-pool-size=1',
      '--no-concurrent-recompilation',
      '--max-semi-space-size=16',
    ]);
    expect(
      workerExecArgv(
        [],
        '--enable-source-maps  --max_semi_space_size=8 --no-liftoff-only --v8-pool-size=4 --concurrent-recompilation',
      ),
    ).toEqual([]);
    expect(workerExecArgv(['--no_liftoff_only'], undefined)).toEqual([
      '--max-semi-space-size=1',
      '--v8-pool-size=1',
      '--no-concurrent-recompilation',
      '--no_liftoff_only',
    ]);
  });
});

describe('growHeapForServing', () => {
  it('leaves the factor to the command line or NODE_OPTIONS when either sets it', () => {
    expect(growHeapForServing(['--heap-growing-percent=50'], undefined)).toBe(false);
    expect(growHeapForServing([], '--enable-source-maps --heap_growing_percent=0')).toBe(false);
  });

  it('sets it otherwise', () => {
    expect(growHeapForServing(['--max-semi-space-size=2'], '--enable-source-maps')).toBe(true);
  });
});

describe('npm start', () => {
  it('runs the single process with the flags the workers get', () => {
    const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as {
      scripts: { start: string };
    };
    expect(scripts.start).toBe(['node', ...WORKER_V8_FLAGS, 'dist/main.js'].join(' '));
  });
});
