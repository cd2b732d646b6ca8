import { finished, Readable } from 'node:stream';
import { SourceError } from '../errors.js';
import { discard } from '../sources/discard.js';
import { outcomeOf, type StreamScope, streamEnd, streamStart } from './events.js';
import type { Resumer } from './resume.js';

export interface BodyPolicy {
  /** Longest silence of the source while the client is waiting for data. */
  idleMs: number;
  /** Cap on the whole download; 0 disables it. */
  totalMs: number;
}

/**
 * The body sent to the client: the sole owner of the source stream behind it. It relays chunks
 * with backpressure, enforces the idle and total timeouts, hands a source that breaks mid-body
 * to its Resumer, and errors (so the client connection is aborted, never ended cleanly) when it
 * cannot deliver every byte. A source with more than `length` bytes is cut there (its rest is
 * discarded). Destroying it destroys the source and aborts any request in flight.
 */
export class SourceBody extends Readable {
  readonly #length: number | undefined;
  readonly #resumer: Resumer | undefined;
  readonly #controller: AbortController;
  readonly #idle: NodeJS.Timeout;
  readonly #total: NodeJS.Timeout | undefined;
  #source: Readable | undefined;
  #detach: (() => void) | undefined;
  /** The client is not reading: time it spends so does not count as the source being idle. */
  #paused = false;
  #delivered = 0;
  #resumes = 0;

  /** Times the source was reopened after a break. */
  get resumes(): number {
    return this.#resumes;
  }
  #complete = false;
  readonly #scope: StreamScope | undefined;

  constructor(
    first: Readable,
    options: {
      length: number | undefined;
      resumer: Resumer | undefined;
      policy: BodyPolicy;
      controller: AbortController;
      /** Names the stream in its start and end events. */
      scope?: StreamScope | undefined;
      /** Bytes it reads ahead of its reader; default 64 KiB. */
      highWaterMark?: number;
    },
  ) {
    super({ highWaterMark: options.highWaterMark ?? 64 * 1024 });
    this.#length = options.length;
    this.#scope = options.scope;
    if (this.#scope !== undefined && streamStart.hasSubscribers) {
      streamStart.publish({ scope: this.#scope, length: this.#length });
    }
    this.#resumer = options.resumer;
    this.#controller = options.controller;
    // One timer for the whole body, refreshed on every chunk; a pause or a resume in progress
    // re-arms it instead of tearing it down (as undici's body timeout does).
    this.#idle = setTimeout(() => this.#onIdle(), options.policy.idleMs);
    if (options.policy.totalMs > 0) {
      this.#total = setTimeout(
        () => this.destroy(new SourceError('timeout', 'download exceeded its time limit')),
        options.policy.totalMs,
      );
    }
    this.#attach(first);
  }

  override _read(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#idle.refresh();
    this.#source?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stopTimers();
    this.#release();
    if (!this.#complete) this.#controller.abort();
    this.#reportEnd(error);
    callback(error);
  }

  /** Once, from `_destroy`, which every path reaches (autoDestroy after the last byte). */
  #reportEnd(error: Error | null): void {
    if (this.#scope === undefined || !streamEnd.hasSubscribers) return;
    // What is still buffered here was never taken by the response.
    const taken = this.#delivered - this.readableLength;
    // A client that has every byte may close before the source reports its end.
    const complete = error === null && (this.#complete || taken === this.#length);
    streamEnd.publish({
      scope: this.#scope,
      outcome: complete ? 'complete' : outcomeOf(error),
      bytesFromSource: this.#delivered,
      bytesToClient: taken,
      resumes: this.#resumes,
    });
  }

  #onIdle(): void {
    if (this.#paused || this.#source === undefined) this.#idle.refresh();
    else this.#break(new SourceError('timeout', 'source went idle'));
  }

  #attach(source: Readable): void {
    this.#source = source;
    const onData = (chunk: Buffer) => {
      const delivered = this.#delivered + chunk.length;
      if (this.#length !== undefined && delivered > this.#length) {
        // A source longer than the body (a parallel body's first part reads the whole
        // object's answer): its first bytes are the body, the rest is discarded.
        this.#delivered = this.#length;
        this.push(chunk.subarray(0, chunk.length - (delivered - this.#length)));
        this.#finish();
        return;
      }
      this.#delivered = delivered;
      this.#idle.refresh();
      if (!this.push(chunk)) {
        this.#paused = true;
        source.pause();
      }
    };
    source.on('data', onData);
    if (this.#paused) source.pause();
    const stopWatching = finished(source, (error) => {
      if (this.#source !== source) return;
      if (error) this.#break(error);
      else if (this.#length !== undefined && this.#delivered !== this.#length) {
        this.#break(new SourceError('truncated', 'source ended early'));
      } else this.#finish();
    });
    this.#detach = () => {
      source.off('data', onData);
      stopWatching();
    };
    this.#idle.refresh();
  }

  #stopTimers(): void {
    clearTimeout(this.#idle);
    clearTimeout(this.#total);
  }

  #release(): void {
    this.#detach?.();
    this.#detach = undefined;
    if (this.#source) discard(this.#source);
    this.#source = undefined;
  }

  #finish(): void {
    this.#complete = true;
    this.#stopTimers();
    this.#release();
    this.push(null);
  }

  #break(cause: Error): void {
    // Every byte of the body came: a source that stalls or fails after them (a part's answer
    // that covers the rest of the object) has nothing left to give this body.
    if (this.#length !== undefined && this.#delivered === this.#length) {
      this.#finish();
      return;
    }
    this.#release();
    if (this.destroyed) return;
    const resumer = this.#resumer;
    if (resumer === undefined || !resumer.canResume(this.#delivered)) {
      this.destroy(new SourceError('truncated', 'source failed mid-body', { cause }));
      return;
    }
    resumer.resume(this.#delivered, this.#controller.signal).then(
      (rest) => {
        // The client may have gone while the rest was being opened: nobody will read it.
        if (this.destroyed) discard(rest);
        else {
          this.#resumes++;
          this.#attach(rest);
        }
      },
      (error: unknown) => this.destroy(asError(error)),
    );
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new SourceError('truncated', String(error));
}
