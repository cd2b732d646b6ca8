import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { SourceError } from '../errors.js';
import { isWeak } from '../http/etag.js';
import type { ByteRange, ObjectInfo } from '../sources/source.js';

/** Exponential backoff from `firstMs`, capped so that no retry waits longer than 2 s. */
export function backoff(firstMs: number, attempt: number): number {
  return Math.min(firstMs * 2 ** attempt, 2_000);
}

/** The ETag to send as If-Match: only a strong one proves the bytes are the same. */
export function strongEtag(info: ObjectInfo): string | undefined {
  return info.etag !== undefined && !isWeak(info.etag) ? info.etag : undefined;
}

export interface ResumePolicy {
  /** Attempts to resume one body after it broke mid-stream. */
  attempts: number;
  /** First backoff; doubles on each attempt. */
  backoffMs: number;
}

/** Opens the same object again at `range`, with If-Match on `etag`. */
export type OpenRange = (range: ByteRange, etag: string, signal: AbortSignal) => Promise<Readable>;

/**
 * Everything about resuming one body: whether it may be resumed, which bytes to ask for next,
 * and the bounded retry loop with backoff. The body that uses it only relays.
 */
export class Resumer {
  readonly #open: OpenRange;
  readonly #etag: string;
  readonly #first: number;
  readonly #last: number;
  readonly #policy: ResumePolicy;
  #attempts = 0;

  private constructor(open: OpenRange, etag: string, span: ByteRange, policy: ResumePolicy) {
    this.#open = open;
    this.#etag = etag;
    this.#first = span.start;
    this.#last = span.end;
    this.#policy = policy;
  }

  /**
   * A resumer for a body covering `range` of the object (the whole object when undefined), or
   * undefined when resuming is not safe: the source must serve byte ranges and report a size and
   * a strong ETag, so that the bytes asked again are provably the same.
   */
  static for(
    info: ObjectInfo,
    range: ByteRange | undefined,
    open: OpenRange,
    policy: ResumePolicy,
  ): Resumer | undefined {
    const etag = strongEtag(info);
    if (etag === undefined || info.size === undefined || !info.acceptRanges) return undefined;
    const span = range ?? { start: 0, end: info.size - 1 };
    return new Resumer(open, etag, span, policy);
  }

  /** True while attempts remain and bytes are still missing after `delivered` of them. */
  canResume(delivered: number): boolean {
    return this.#attempts < this.#policy.attempts && this.#first + delivered <= this.#last;
  }

  /**
   * Opens the rest of the body after `delivered` bytes, backing off between attempts. Throws
   * `truncated` when the object changed, the client left, or attempts ran out.
   */
  async resume(delivered: number, signal: AbortSignal): Promise<Readable> {
    for (;;) {
      await sleep(backoff(this.#policy.backoffMs, this.#attempts), undefined, { signal });
      this.#attempts++;
      try {
        const rest = { start: this.#first + delivered, end: this.#last };
        return await this.#open(rest, this.#etag, signal);
      } catch (error) {
        const changed = error instanceof SourceError && error.failure === 'precondition-failed';
        if (changed || signal.aborted || !this.canResume(delivered)) {
          throw new SourceError('truncated', 'source cannot be resumed', { cause: error });
        }
      }
    }
  }
}
