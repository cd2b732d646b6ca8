import type { Dispatcher } from 'undici';
import { SourceError } from '../errors.js';
import { parseContentRange } from '../http/range.js';
import { networkFailure } from './network-errors.js';
import type { ObjectInfo, ObjectStream } from './source.js';
import { request } from './undici.js';

/**
 * Response handling shared by the sources that speak HTTP through undici (S3 and upstreams):
 * sending, headers to ObjectInfo, the body's hand-off to the caller, and reading error bodies.
 */

export type ResponseHeaders = Dispatcher.ResponseData['headers'];

/** The first value of a response header. */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseDate(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** An object's validators and presentation from its response headers. */
export function describeObject(headers: ResponseHeaders): ObjectInfo {
  const length = headerValue(headers, 'content-length');
  return {
    size: length === undefined ? undefined : Number(length),
    etag: headerValue(headers, 'etag'),
    lastModified: parseDate(headerValue(headers, 'last-modified')),
    contentType: headerValue(headers, 'content-type'),
    cacheControl: headerValue(headers, 'cache-control'),
    contentEncoding: headerValue(headers, 'content-encoding'),
    acceptRanges: headerValue(headers, 'accept-ranges')?.toLowerCase() === 'bytes',
  };
}

/** Sends a request; a failure without an HTTP answer becomes a SourceError. */
export async function send(
  dispatcher: Dispatcher,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  try {
    const answer = request(dispatcher, options);
    const { signal } = options;
    return await (signal instanceof AbortSignal ? abortable(answer, signal) : answer);
  } catch (error) {
    throw networkFailure(error);
  }
}

/**
 * undici rejects an aborted request only once it is dispatched, so one queued behind a pool
 * whose sockets are all busy would wait for a free one, past any deadline. The abort ends the
 * wait here instead; an answer that still comes is read off so that its socket is freed.
 */
function abortable(
  answer: Promise<Dispatcher.ResponseData>,
  signal: AbortSignal,
): Promise<Dispatcher.ResponseData> {
  if (signal.aborted) return answer;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      answer.then(dumpBody, () => {});
    };
    signal.addEventListener('abort', onAbort, { once: true });
    answer.then(
      (response) => {
        signal.removeEventListener('abort', onAbort);
        resolve(response);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Hands a successful GET's body to the caller with the object's info; a 206 must say which
 * bytes it carries, and the size is then the one its Content-Range reports.
 */
export async function objectStream(
  response: Dispatcher.ResponseData,
  info: ObjectInfo,
): Promise<ObjectStream> {
  const reported = parseContentRange(headerValue(response.headers, 'content-range'));
  if (response.statusCode === 206) {
    if (!reported) {
      await dumpBody(response);
      throw new SourceError('unavailable', 'source sent 206 without a content-range');
    }
    info.size = reported.size;
  }
  return { info, range: reported?.range, body: response.body };
}

/** Reads and drops a body nobody needs, so the connection can serve the next request. */
export async function dumpBody(response: Dispatcher.ResponseData): Promise<void> {
  await response.body.dump().catch(() => {});
}

/**
 * Reads the start of an error body, at most `limit` bytes, then lets the rest go (undici closes
 * the connection if more was left than it cares to drain).
 */
export async function readErrorBody(
  response: Dispatcher.ResponseData,
  limit: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of response.body) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= limit) break;
    }
  } catch {
    // A broken error body leaves the status to decide.
  }
  // Leaving the loop early destroys the body; dump() drains or closes whatever is left.
  await dumpBody(response);
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
