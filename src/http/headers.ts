import type { ObjectInfo } from '../sources/source.js';
import type { Decision } from './conditional.js';
import { contentRange } from './range.js';

/** How a route presents its objects. */
export interface Presentation {
  /** Fixed content type (the image route's `image/jpeg`); otherwise the source's. */
  contentType: string | undefined;
  /** Used when neither the route nor the source names a content type. */
  defaultContentType: string;
  /** Used when the source gives no Cache-Control of its own. */
  cacheControl: string;
  /** `attachment; filename=…` when the client asked for a download. */
  contentDisposition: string | undefined;
}

/** The headers of an answer, decided from the object's validators alone (no body needed). */
export function responseHeaders(
  decision: Decision,
  info: ObjectInfo,
  presentation: Presentation,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (info.etag !== undefined) headers.etag = info.etag;
  if (info.lastModified !== undefined) headers['last-modified'] = info.lastModified.toUTCString();
  const ranges = info.acceptRanges && info.size !== undefined;
  // A 412 or 416 has no cache-control: the object's max-age would let a cache keep the refusal.
  if (decision.status === 412) return headers;
  if (decision.status === 416) {
    if (ranges) headers['accept-ranges'] = 'bytes';
    headers['content-range'] = `bytes */${info.size}`;
    return headers;
  }
  headers['cache-control'] = info.cacheControl ?? presentation.cacheControl;
  if (decision.status === 304) return headers;
  if (ranges) headers['accept-ranges'] = 'bytes';
  headers['content-type'] =
    presentation.contentType ?? info.contentType ?? presentation.defaultContentType;
  if (info.contentEncoding !== undefined) headers['content-encoding'] = info.contentEncoding;
  if (presentation.contentDisposition !== undefined) {
    headers['content-disposition'] = presentation.contentDisposition;
  }
  if (decision.status === 206) {
    // The size the answer carrying these bytes reported: an object without a strong ETag may
    // have changed since its validators were read, and the total must be the sent one's.
    headers['content-range'] = contentRange(decision.range, info.size ?? decision.size);
    headers['content-length'] = String(decision.range.end - decision.range.start + 1);
  } else if (info.size !== undefined) {
    headers['content-length'] = String(info.size);
  }
  return headers;
}

/** `attachment` with a filename safe in any header (RFC 6266): ASCII letters, digits, `._-`. */
export function attachment(filename: string): string {
  return `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`;
}
