/** `.` and `..`, also percent-encoded, as the upstream may decode them before it resolves them. */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * Whether a key is a path below the upstream's base URL: it begins with `/` (glued to the base
 * path, `-admin` would name the sibling `/public-admin` of `/public`, and `http://…` an absolute
 * request target), it has no dot segment that an upstream would resolve above the base, and no
 * `?`, `#` or backslash (which some servers read as `/`) to make it something else. The upstream
 * source asks for no other key, and the service's settings take no other path template.
 */
export function staysBelowBase(key: string): boolean {
  return (
    key.startsWith('/') &&
    !/[?#\\]/.test(key) &&
    !key.split('/').some((segment) => DOT_SEGMENT.test(segment))
  );
}
