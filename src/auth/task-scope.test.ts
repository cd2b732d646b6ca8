import { describe, expect, it } from 'vitest';
import { parseTaskScope, reachesTask } from './task-scope.js';

describe('task scope', () => {
  it('reads "*" and lists of numbers or decimal strings', () => {
    expect(parseTaskScope('*')).toBe('all');
    expect(parseTaskScope([1, '2', '007'])).toEqual(new Set([1, 2, 7]));
    expect(parseTaskScope([])).toEqual(new Set());
  });

  it.each([
    undefined,
    null,
    '1',
    1,
    {},
    ['*'],
    [1.5],
    [-1],
    ['0x1'],
    [' 1'],
    ['1e3'],
    [2 ** 53],
    ['9007199254740993'],
  ])('grants nothing for %j', (claim) => {
    expect(parseTaskScope(claim)).toBeUndefined();
  });

  it('matches the route parameter as a number', () => {
    const scope = parseTaskScope([1, 20]) ?? 'all';
    expect(reachesTask(scope, '1')).toBe(true);
    expect(reachesTask(scope, '0020')).toBe(true);
    expect(reachesTask(scope, '2')).toBe(false);
    expect(reachesTask(scope, 'abc')).toBe(false);
    expect(reachesTask(scope, undefined)).toBe(false);
    expect(reachesTask('all', 'abc')).toBe(true);
    // 2^53 + 1 would round to 2^53 as a number: an id past the safe range reaches nothing.
    const edge = parseTaskScope([Number.MAX_SAFE_INTEGER]) ?? 'all';
    expect(reachesTask(edge, String(Number.MAX_SAFE_INTEGER))).toBe(true);
    expect(reachesTask(edge, '9007199254740992')).toBe(false);
  });
});
