import type { ByteRange, ObjectInfo } from '../sources/source.js';
import { strongEtag } from './resume.js';

/** When and how one download is split into ranged parts fetched over several connections. */
export interface ParallelPolicy {
  /** Parts in flight at most (connections to the source per download); 1 turns it off. */
  parts: number;
  /** Bytes per part; the last part may be shorter. */
  partSize: number;
  /** Bodies shorter than this are fetched over one connection. */
  minBytes: number;
}

/** The parts of one body: `count` consecutive ranges of `partSize` bytes over `span`. */
export interface PartPlan {
  readonly span: ByteRange;
  readonly partSize: number;
  readonly count: number;
  /** Parts in flight at most. */
  readonly window: number;
}

/**
 * How to fetch a body covering `range` of the object (the whole object when undefined) in
 * parts, or undefined to fetch it over one connection: parts need a source that serves byte
 * ranges and a size and a strong ETag, so that every part provably comes from the same object.
 */
export function planParts(
  info: ObjectInfo,
  range: ByteRange | undefined,
  policy: ParallelPolicy | undefined,
): PartPlan | undefined {
  if (policy === undefined || policy.parts < 2) return undefined;
  if (strongEtag(info) === undefined || info.size === undefined || !info.acceptRanges) {
    return undefined;
  }
  const span = range ?? { start: 0, end: info.size - 1 };
  const length = span.end - span.start + 1;
  if (length < policy.minBytes || length <= policy.partSize) return undefined;
  const count = Math.ceil(length / policy.partSize);
  return { span, partSize: policy.partSize, count, window: Math.min(policy.parts, count) };
}

/** The bytes of part `index` (from 0) of `plan`. */
export function partRange(plan: PartPlan, index: number): ByteRange {
  const start = plan.span.start + index * plan.partSize;
  return { start, end: Math.min(plan.span.end, start + plan.partSize - 1) };
}
