import { parseEtagList, strongMatch } from '../http/etag.js';

/**
 * The `If-Match` that serves a URL pinned to `pinned` together with the client's own `If-Match`:
 * the pinned tag when the client asked for none, `*`, or a list containing it; undefined when
 * no version can satisfy both, which is a failed precondition already.
 */
export function pinnedIfMatch(
  clientIfMatch: string | undefined,
  pinned: string,
): string | undefined {
  if (clientIfMatch === undefined || clientIfMatch.trim() === '*') return pinned;
  return parseEtagList(clientIfMatch).some((tag) => strongMatch(tag, pinned)) ? pinned : undefined;
}
