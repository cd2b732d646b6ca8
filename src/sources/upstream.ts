import { Agent, type Dispatcher } from 'undici';
import { SourceError } from '../errors.js';
import { networkFailure } from './network-errors.js';
import {
  type ObjectInfo,
  type ObjectStream,
  parseContentRange,
  type ReadOptions,
  type Source,
} from './source.js';

/** One pooled, keep-alive dispatcher for every upstream request of the process. */
export function createUpstreamDispatcher(connectTimeoutMs: number): Dispatcher {
  return new Agent({
    connect: { timeout: connectTimeoutMs },
    // The gateway times the first byte and idle gaps itself (src/stream/); a paused body
    // (a slow client) must not count as an idle upstream.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** An HTTP upstream: keys are paths below the base URL. */
export class UpstreamSource implements Source {
  readonly #origin: string;
  readonly #basePath: string;

  constructor(
    baseUrl: string,
    private readonly dispatcher: Dispatcher,
  ) {
    const url = new URL(baseUrl);
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
  }

  async stat(key: string, signal: AbortSignal): Promise<ObjectInfo> {
    const response = await this.#request('HEAD', key, {}, signal);
    await response.body.dump();
    return describe(response.headers as Headers);
  }

  async read(key: string, options: ReadOptions): Promise<ObjectStream> {
    const { range, ifMatch, signal } = options;
    const headers: Record<string, string> = {};
    if (range) headers.range = `bytes=${range.start}-${range.end}`;
    if (ifMatch !== undefined) headers['if-match'] = ifMatch;
    const response = await this.#request('GET', key, headers, signal);
    const info = describe(response.headers as Headers);
    const reported = parseContentRange(header(response.headers as Headers, 'content-range'));
    if (response.statusCode === 206) {
      if (!reported) {
        await response.body.dump();
        throw new SourceError('unavailable', 'upstream sent 206 without a content-range');
      }
      info.size = reported.size;
    }
    return { info, range: reported?.range, body: response.body };
  }

  /** Reachable when the base URL answers at all: it need not serve anything itself. */
  async probe(signal: AbortSignal): Promise<void> {
    try {
      const response = await this.dispatcher.request({
        origin: this.#origin,
        path: this.#basePath || '/',
        method: 'HEAD',
        signal,
      });
      await response.body.dump();
    } catch (error) {
      throw networkFailure(error);
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  async #request(
    method: 'GET' | 'HEAD',
    key: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.dispatcher.request({
        origin: this.#origin,
        path: this.#basePath + key,
        method,
        headers,
        signal,
      });
    } catch (error) {
      throw networkFailure(error);
    }
    const status = response.statusCode;
    if (status >= 200 && status < 300) return response;
    // Reading a short error body keeps the connection for the next request.
    await response.body.dump().catch(() => {});
    throw statusFailure(status);
  }
}

function statusFailure(status: number): SourceError {
  if (status === 404) return new SourceError('not-found', 'upstream answered 404');
  if (status === 412) return new SourceError('precondition-failed', 'upstream answered 412');
  const retryable = status >= 500 || status === 429;
  return new SourceError('unavailable', `upstream answered ${status}`, { retryable });
}

function describe(headers: Headers): ObjectInfo {
  const length = header(headers, 'content-length');
  const modified = header(headers, 'last-modified');
  const lastModified = modified === undefined ? undefined : new Date(modified);
  return {
    size: length === undefined ? undefined : Number(length),
    etag: header(headers, 'etag'),
    lastModified:
      lastModified === undefined || Number.isNaN(lastModified.getTime()) ? undefined : lastModified,
    contentType: header(headers, 'content-type'),
    cacheControl: header(headers, 'cache-control'),
    acceptRanges: header(headers, 'accept-ranges')?.toLowerCase() === 'bytes',
  };
}
