/** Entity-tag comparison (RFC 9110 §8.8.3.2). */

export function isWeak(etag: string): boolean {
  return etag.startsWith('W/');
}

/** Splits an `If-Match` / `If-None-Match` list; commas inside quotes do not split. */
export function parseEtagList(header: string): string[] {
  return header.match(/(?:W\/)?"[^"]*"|[^\s,]+/g) ?? [];
}

/** Strong comparison: both strong and identical. */
export function strongMatch(a: string, b: string): boolean {
  return !isWeak(a) && !isWeak(b) && a === b;
}

/** Weak comparison: identical once any `W/` is set aside. */
export function weakMatch(a: string, b: string): boolean {
  return opaqueTag(a) === opaqueTag(b);
}

function opaqueTag(etag: string): string {
  return isWeak(etag) ? etag.slice(2) : etag;
}
