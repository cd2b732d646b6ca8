import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WORKER_V8_FLAGS, workerExecArgv } from './cluster.js';

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
      '--heap-growing-percent=200',
      '--max-semi-space-size=16',
    ]);
    expect(
      workerExecArgv([], '--enable-source-maps  --max_semi_space_size=8 --heap-growing-percent=0'),
    ).toEqual([]);
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
