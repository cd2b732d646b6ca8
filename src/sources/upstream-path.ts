/** `.` and `..`, also percent-encoded, as the upstream may decode them before it resolves them. */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;
/** What separates segments once decoded: `/`, and `%2F` or `%5C` (a backslash, `/` to some). */
const SEGMENT_SEPARATOR = /\/|%2f|%5c/i;

/**
 * Whether a key is a path below the upstream's base URL: it begins with `/` (glued to the base
 * path, `-admin` would name the sibling `/public-admin` of `/public`, and `http://…` an absolute
 * request target), it has no dot segment that an upstream would resolve above the base (nor one
 * that decoding `%2F` would make: `/x%2F..%2F..%2Fadmin`), and no
 * `?`, `#` or backslash (which some servers read as `/`) to make it something else. The upstream
 * source asks for no other key, and the service's settings take no other path template.
 */
export function staysBelowBase(key: string): boolean {
  return (
    key.startsWith('/') &&
    !/[?#\\]/.test(key) &&
    !key.split(SEGMENT_SEPARATOR).some((segment) => DOT_SEGMENT.test(segment))
  );
}
