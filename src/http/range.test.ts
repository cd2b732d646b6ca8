import { describe, expect, it } from 'vitest';
import { contentRange, resolveRange } from './range.js';

describe('resolveRange', () => {
  it.each([
    ['bytes=0-9', { kind: 'partial', range: { start: 0, end: 9 } }],
    ['bytes=990-', { kind: 'partial', range: { start: 990, end: 999 } }],
    ['bytes=-10', { kind: 'partial', range: { start: 990, end: 999 } }],
    ['bytes=990-5000', { kind: 'partial', range: { start: 990, end: 999 } }],
    ['bytes=0-0', { kind: 'partial', range: { start: 0, end: 0 } }],
    ['bytes=0-1,1-2', { kind: 'partial', range: { start: 0, end: 2 } }],
  ])('%s of 1000 bytes', (header, outcome) => {
    expect(resolveRange(header, 1000)).toEqual(outcome);
  });

  it('selects the whole object for a suffix longer than it (RFC 9110 §14.1.2)', () => {
    expect(resolveRange('bytes=-5000', 1000)).toEqual({
      kind: 'partial',
      range: { start: 0, end: 999 },
    });
  });

  it.each(['bytes=1000-', 'bytes=5000-6000', 'bytes=9-1'])(
    '%s of 1000 bytes is unsatisfiable',
    (header) => {
      expect(resolveRange(header, 1000)).toEqual({ kind: 'unsatisfiable' });
    },
  );

  it('answers a non-zero suffix of an empty object with all of it (RFC 9110 §14.1.2)', () => {
    expect(resolveRange('bytes=-5', 0)).toEqual({ kind: 'whole' });
    expect(resolveRange('bytes=0-,-5', 0)).toEqual({ kind: 'whole' });
  });

  it.each(['bytes=0-', 'bytes=-0', 'bytes=0-0'])(
    '%s of an empty object is unsatisfiable',
    (header) => {
      expect(resolveRange(header, 0)).toEqual({ kind: 'unsatisfiable' });
    },
  );

  it.each(['bytes=oops', 'items=0-1', 'items=5000-', 'BYTES=0-1', 'bytes=0-1,5-6', ''])(
    '%j is answered with the whole object',
    (header) => {
      expect(resolveRange(header, 1000)).toEqual({ kind: 'whole' });
    },
  );

  it('formats Content-Range', () => {
    expect(contentRange({ start: 5, end: 9 }, 10)).toBe('bytes 5-9/10');
  });
});
