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
      '--max-semi-space-size=16',
    ]);
    expect(workerExecArgv([], '--enable-source-maps  --max_semi_space_size=8')).toEqual([]);
  });
});
