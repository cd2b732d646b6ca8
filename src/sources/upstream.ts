import type { Dispatcher } from 'undici';
import { SourceError } from '../errors.js';
import { parseContentRange } from '../http/range.js';
import { discard } from './discard.js';
import { describeObject, dumpBody, headerValue, objectStream, send } from './http-response.js';
import type { ObjectInfo, ObjectStream, ReadOptions, Source } from './source.js';
import { NotModified } from './source.js';
import { Agent } from './undici.js';
import { staysBelowBase } from './upstream-path.js';

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

/** An HTTP upstream: keys are paths below the base URL. */
export class UpstreamSource implements Source {
  readonly #origin: string;
  readonly #basePath: string;
  #closing: Promise<void> | undefined;
  /** The upstream has refused a HEAD: its validators come from a GET of the first byte. */
  #headRefused = false;

  constructor(
    baseUrl: string,
    private readonly dispatcher: Dispatcher,
  ) {
    const url = new URL(baseUrl);
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, '');
  }

  async stat(key: string, signal: AbortSignal): Promise<ObjectInfo> {
    if (!this.#headRefused) {
      try {
        const response = await this.#request('HEAD', key, {}, signal);
        await dumpBody(response);
        return describeObject(response.headers);
      } catch (error) {
        if (!(error instanceof MethodRefused)) throw error;
        this.#headRefused = true;
      }
    }
    return this.#statByGet(key, signal);
  }

  async read(key: string, options: ReadOptions): Promise<ObjectStream> {
    const { range, ifMatch, ifNoneMatch, signal } = options;
    const headers: Record<string, string> = {};
    if (range) headers.range = `bytes=${range.start}-${range.end}`;
    if (ifMatch !== undefined) headers['if-match'] = ifMatch;
    if (ifNoneMatch !== undefined) headers['if-none-match'] = ifNoneMatch;
    // A 304 is the answer to If-None-Match; without it, a failure like any other.
    const answers = ifNoneMatch === undefined ? [] : [304];
    const response = await this.#request('GET', key, headers, signal, answers);
    if (response.statusCode === 304) {
      await dumpBody(response);
      throw new NotModified();
    }
    return objectStream(response, describeObject(response.headers));
  }

  /** Reachable when the base URL answers at all: it need not serve anything itself. */
  async probe(signal: AbortSignal): Promise<void> {
    const response = await send(this.dispatcher, {
      origin: this.#origin,
      path: this.#basePath || '/',
      method: 'HEAD',
      signal,
    });
    await dumpBody(response);
  }

  /** Closes the dispatcher once: undici rejects a second close, this resolves it with the first. */
  close(): Promise<void> {
    this.#closing ??= this.dispatcher.close();
    return this.#closing;
  }

  /**
   * The validators where the upstream refuses HEAD (a GET-only route, as FastAPI's `@app.get`):
   * a GET of the first byte, whose one byte is read off; an upstream that ignores the Range
   * sends the whole object, whose body is discarded at once (closing its connection). An empty
   * object has no first byte: its 416 describes the refusal, not the object, so a GET of the
   * whole (empty) object says what it is.
   */
  async #statByGet(key: string, signal: AbortSignal): Promise<ObjectInfo> {
    const response = await this.#request('GET', key, { range: 'bytes=0-0' }, signal, [416]);
    if (response.statusCode === 416) {
      await dumpBody(response);
      return this.#statByWholeGet(key, signal);
    }
    const info = describeObject(response.headers);
    if (response.statusCode !== 206) {
      discard(response.body);
      return info;
    }
    await dumpBody(response);
    const reported = parseContentRange(headerValue(response.headers, 'content-range'));
    return { ...info, size: reported?.size, acceptRanges: true };
  }

  async #statByWholeGet(key: string, signal: AbortSignal): Promise<ObjectInfo> {
    const response = await this.#request('GET', key, {}, signal);
    discard(response.body);
    return describeObject(response.headers);
  }

  async #request(
    method: 'GET' | 'HEAD',
    key: string,
    headers: Record<string, string>,
    signal: AbortSignal,
    /** Statuses beyond 2xx that the caller reads itself rather than as failures. */
    answers: readonly number[] = [],
  ): Promise<Dispatcher.ResponseData> {
    if (!staysBelowBase(key)) throw new SourceError('not-found', 'key is not below the base URL');
    const response = await send(this.dispatcher, {
      origin: this.#origin,
      path: this.#basePath + key,
      method,
      headers,
      signal,
    });
    const status = response.statusCode;
    if ((status >= 200 && status < 300) || answers.includes(status)) return response;
    // Reading a short error body keeps the connection for the next request.
    await dumpBody(response);
    throw statusFailure(status);
  }
}

/** The upstream does not serve the method asked (405, 501) for the key, though it may serve GET. */
class MethodRefused extends SourceError {}

function statusFailure(status: number): SourceError {
  if (status === 404) return new SourceError('not-found', 'upstream answered 404');
  if (status === 412) return new SourceError('precondition-failed', 'upstream answered 412');
  // 501: the method is not implemented, which asking again will not change.
  const retryable = (status >= 500 && status !== 501) || status === 429;
  const message = `upstream answered ${status}`;
  if (status === 405 || status === 501) {
    return new MethodRefused('unavailable', message, { retryable });
  }
  return new SourceError('unavailable', message, { retryable });
}
