import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../sources/source.js';
import { partRange, planParts } from './parts.js';

const MIB = 1024 * 1024;
const policy = { parts: 4, partSize: 8 * MIB, minBytes: 64 * MIB };
const info = (changes: Partial<ObjectInfo> = {}): ObjectInfo => ({
  size: 100 * MIB + 1,
  etag: '"abc"',
  lastModified: undefined,
  contentType: undefined,
  cacheControl: undefined,
  acceptRanges: true,
  ...changes,
});

describe('planParts', () => {
  it('splits the whole object into PART_SIZE parts, the last one shorter', () => {
    const plan = planParts(info(), undefined, policy);
    expect(plan).toEqual({
      span: { start: 0, end: 100 * MIB },
      partSize: 8 * MIB,
      count: 13,
      window: 4,
    });
    if (plan === undefined) return;
    expect(partRange(plan, 0)).toEqual({ start: 0, end: 8 * MIB - 1 });
    expect(partRange(plan, 12)).toEqual({ start: 96 * MIB, end: 100 * MIB });
  });

  it('splits a requested range from its first byte', () => {
    const plan = planParts(info(), { start: 5, end: 70 * MIB + 4 }, policy);
    expect(plan?.count).toBe(9);
    if (plan === undefined) return;
    expect(partRange(plan, 1)).toEqual({ start: 8 * MIB + 5, end: 16 * MIB + 4 });
    expect(partRange(plan, 8)).toEqual({ start: 64 * MIB + 5, end: 70 * MIB + 4 });
  });

  it('keeps the window within the parts there are', () => {
    const plan = planParts(info({ size: 16 * MIB + 1 }), undefined, { ...policy, minBytes: 0 });
    expect(plan?.count).toBe(3);
    expect(plan?.window).toBe(3);
  });

  it.each([
    ['PARALLEL_PARTS=1', info(), { ...policy, parts: 1 }],
    ['no policy', info(), undefined],
    ['below PARALLEL_MIN_BYTES', info({ size: 64 * MIB - 1 }), policy],
    ['a single part', info({ size: 8 * MIB }), { ...policy, minBytes: 0 }],
    ['a weak ETag', info({ etag: 'W/"abc"' }), policy],
    ['no ETag', info({ etag: undefined }), policy],
    ['no size', info({ size: undefined }), policy],
    ['no byte ranges', info({ acceptRanges: false }), policy],
  ])('uses one connection with %s', (_name, object, settings) => {
    expect(planParts(object, undefined, settings)).toBeUndefined();
  });
});
