import { finished, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { SourceError } from '../errors.js';
import { discard } from './discard.js';
import { backoff } from './open.js';

export interface BodyPolicy {
  /** Longest silence of the source while the client is waiting for data. */
  idleMs: number;
  /** Cap on the whole download; 0 disables it. */
  totalMs: number;
  resumeAttempts: number;
  backoffMs: number;
}

/** Opens the source again from `offset` bytes into this body, for the same object. */
export type Reopen = (offset: number, signal: AbortSignal) => Promise<Readable>;

/**
 * The body sent to the client: the sole owner of the source stream behind it. It relays chunks
 * with backpressure, enforces the idle and total timeouts, resumes a source that breaks
 * mid-body at the next byte, and errors (so the client connection is aborted, never ended
 * cleanly) when it cannot deliver every byte. Destroying it destroys the source and aborts any
 * request in flight.
 */
export class SourceBody extends Readable {
  readonly #length: number | undefined;
  readonly #reopen: Reopen | undefined;
  readonly #policy: BodyPolicy;
  readonly #controller: AbortController;
  #source: Readable | undefined;
  #detach: (() => void) | undefined;
  #delivered = 0;
  #resumes = 0;
  #complete = false;
  #idle: NodeJS.Timeout | undefined;
  readonly #total: NodeJS.Timeout | undefined;

  constructor(
    first: Readable,
    options: {
      length: number | undefined;
      reopen: Reopen | undefined;
      policy: BodyPolicy;
      controller: AbortController;
    },
  ) {
    super({ highWaterMark: 64 * 1024 });
    this.#length = options.length;
    this.#reopen = options.reopen;
    this.#policy = options.policy;
    this.#controller = options.controller;
    if (this.#policy.totalMs > 0) {
      this.#total = setTimeout(
        () => this.destroy(new SourceError('timeout', 'download exceeded its time limit')),
        this.#policy.totalMs,
      );
    }
    this.#attach(first);
  }

  override _read(): void {
    if (!this.#source) return;
    this.#source.resume();
    this.#armIdle();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#idle);
    clearTimeout(this.#total);
    this.#release();
    if (!this.#complete) this.#controller.abort();
    callback(error);
  }

  #attach(source: Readable): void {
    this.#source = source;
    const onData = (chunk: Buffer) => {
      this.#delivered += chunk.length;
      this.#idle?.refresh();
      if (!this.push(chunk)) {
        source.pause();
        clearTimeout(this.#idle);
        this.#idle = undefined;
      }
    };
    source.on('data', onData);
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
    this.#armIdle();
  }

  #armIdle(): void {
    if (this.#idle) this.#idle.refresh();
    else {
      this.#idle = setTimeout(
        () => this.#break(new SourceError('timeout', 'source went idle')),
        this.#policy.idleMs,
      );
    }
  }

  #release(): void {
    this.#detach?.();
    this.#detach = undefined;
    if (this.#source) discard(this.#source);
    this.#source = undefined;
  }

  #finish(): void {
    this.#complete = true;
    clearTimeout(this.#idle);
    clearTimeout(this.#total);
    this.#release();
    this.push(null);
  }

  #break(cause: Error): void {
    clearTimeout(this.#idle);
    this.#idle = undefined;
    this.#release();
    if (this.destroyed) return;
    if (!this.#canResume()) {
      this.destroy(new SourceError('truncated', 'source failed mid-body', { cause }));
      return;
    }
    this.#resume(cause).catch((error: unknown) => this.destroy(error as Error));
  }

  #canResume(): boolean {
    return (
      this.#reopen !== undefined &&
      this.#length !== undefined &&
      this.#delivered < this.#length &&
      this.#resumes < this.#policy.resumeAttempts
    );
  }

  async #resume(cause: Error): Promise<void> {
    const reopen = this.#reopen as Reopen;
    const signal = this.#controller.signal;
    for (;;) {
      await sleep(backoff(this.#policy, this.#resumes), undefined, { signal });
      this.#resumes++;
      try {
        const next = await reopen(this.#delivered, signal);
        if (this.destroyed) next.destroy();
        else this.#attach(next);
        return;
      } catch (error) {
        const changed = error instanceof SourceError && error.failure === 'precondition-failed';
        if (changed || signal.aborted || !this.#canResume()) {
          throw new SourceError('truncated', 'source cannot be resumed', { cause: error ?? cause });
        }
      }
    }
  }
}
