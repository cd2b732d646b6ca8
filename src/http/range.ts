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
  // A unit other than bytes is one this server does not understand, so the header is ignored
  // (§14.2); range-parser would still judge `items=5000-` unsatisfiable against the byte size.
  if (!header.startsWith('bytes=')) return { kind: 'whole' };
  const parsed = parseRange(size, wholeForLongSuffixes(header, size), { combine: true });
  if (parsed === -1) {
    return size === 0 && hasNonZeroSuffix(header) ? { kind: 'whole' } : { kind: 'unsatisfiable' };
  }
  const range = parsed === -2 || parsed.length !== 1 ? undefined : parsed[0];
  if (range === undefined) return { kind: 'whole' };
  return { kind: 'partial', range: { start: range.start, end: range.end } };
}

/**
 * RFC 9110 §14.1.2: a suffix longer than the object selects the whole object, where
 * range-parser would call it unsatisfiable; so `-n` with n > size becomes `0-`.
 */
function wholeForLongSuffixes(header: string, size: number): string {
  return header.replace(/([=,]\s*)-(\d+)/g, (spec, lead: string, digits: string) =>
    Number(digits) > size ? `${lead}0-` : spec,
  );
}

/**
 * RFC 9110 §14.1.2: on an empty object a suffix `-n` with n > 0 is still satisfiable, though no
 * Content-Range can describe it, and range-parser calls even `0-` unsatisfiable there.
 */
function hasNonZeroSuffix(header: string): boolean {
  return /[=,]\s*-0*[1-9]/.test(header);
}

export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/** Parses `bytes start-end/size` from a Content-Range header (RFC 9110 §14.4). */
export function parseContentRange(
  value: string | undefined,
): { range: ByteRange; size: number | undefined } | undefined {
  const match = value === undefined ? null : CONTENT_RANGE.exec(value.trim());
  if (!match) return undefined;
  const [, start = '', end = '', size = '*'] = match;
  return {
    range: { start: Number(start), end: Number(end) },
    size: size === '*' ? undefined : Number(size),
  };
}
