import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';

/** What a client saw of one download, the body reduced to its length and SHA-256. */
export interface Download {
  status: number;
  headers: IncomingHttpHeaders;
  length: number;
  sha256: string;
  /** The response ended cleanly: every byte its framing announced arrived. */
  complete: boolean;
  /** The response's body as JSON when it was a short error answer. */
  json: unknown;
}

/**
 * Downloads `url` on a fresh connection, hashing the body as it arrives. Resolves when the
 * response closes however it ends (an aborted body gives `complete: false`); rejects when no
 * answer comes within `timeoutMs`.
 */
export function download(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    timeoutMs?: number;
    /** Tear the connection down once this many body bytes arrived, as a client that leaves. */
    abortAfterBytes?: number;
    /** Told the body bytes received so far after each chunk. */
    onProgress?: (received: number) => void;
  } = {},
): Promise<Download> {
  const { method = 'GET', headers = {}, timeoutMs = 20_000, abortAfterBytes, onProgress } = options;
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, agent: false });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`no complete answer from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    request.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.once('response', (response) => {
      const hash = createHash('sha256');
      const small: Buffer[] = [];
      let length = 0;
      let ended = false;
      response.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
        if (length <= 4096) small.push(chunk);
        onProgress?.(length);
        if (abortAfterBytes !== undefined && length >= abortAfterBytes) request.destroy();
      });
      response.once('end', () => {
        ended = true;
      });
      response.on('error', () => {});
      response.once('close', () => {
        clearTimeout(timer);
        let json: unknown;
        if (
          ended &&
          length > 0 &&
          length <= 4096 &&
          /json/.test(response.headers['content-type'] ?? '')
        ) {
          json = JSON.parse(Buffer.concat(small).toString('utf8'));
        }
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          length,
          sha256: hash.digest('hex'),
          complete: ended && response.complete,
          json,
        });
      });
    });
    request.end();
  });
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The FastAPI-shaped 422 body for one path parameter `name` that failed validation. */
export function pathParamIssue(name: string, msg: string, type: string) {
  return { detail: [{ loc: ['path', name], msg, type }] };
}
