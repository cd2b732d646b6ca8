import parseRange from 'range-parser';
import type { ByteRange } from '../sources/source.js';

export type RangeOutcome =
  | { kind: 'whole' }
  | { kind: 'partial'; range: ByteRange }
  | { kind: 'unsatisfiable' };

/**
 * Turns a Range header and the object size into what to send. Several ranges are answered with
 * the whole object and a malformed header is ignored, both as RFC 9110 §14.2 allows.
 */
export function resolveRange(header: string, size: number): RangeOutcome {
  const parsed = parseRange(size, header, { combine: true });
  if (parsed === -1) return { kind: 'unsatisfiable' };
  if (parsed === -2 || parsed.type !== 'bytes' || parsed.length !== 1) return { kind: 'whole' };
  const [range] = parsed as unknown as [ByteRange];
  return { kind: 'partial', range: { start: range.start, end: range.end } };
}

export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}
