import { setTimeout as sleep } from 'node:timers/promises';
import { SourceError } from '../errors.js';
import { discard } from '../sources/discard.js';
import {
  type ByteRange,
  NotModified,
  type ObjectInfo,
  type ObjectStream,
  type ReadOptions,
  type Source,
} from '../sources/source.js';
import {
  type AttemptOutcome,
  type SourceAttemptMessage,
  type StreamScope,
  sourceAttempt,
} from './events.js';
import { backoff } from './resume.js';

export interface OpenPolicy {
  /** Extra attempts after a retryable failure. */
  attempts: number;
  backoffMs: number;
  /** Longest wait for the source's answer (its headers). */
  firstByteMs: number;
}

/** Runs `call` with a signal that aborts when `parent` does or when `ms` pass first. */
async function withDeadline<T>(
  call: (signal: AbortSignal) => Promise<T>,
  ms: number,
  parent: AbortSignal,
): Promise<T> {
  // One controller per attempt that the parent's abort reaches too: AbortSignal.any would do
  // the same, at a cost that shows in profiles at small object sizes. The listener of the attempt
  // that answers lives as long as the request's own signal, so it also ends the body it opened;
  // a failed attempt's is removed, or retries and resumes would pile them up on the request.
  const attempt = new AbortController();
  const abort = () => attempt.abort();
  if (parent.aborted) abort();
  else parent.addEventListener('abort', abort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort();
  }, ms);
  try {
    return await call(attempt.signal);
  } catch (error) {
    parent.removeEventListener('abort', abort);
    if (timedOut && !parent.aborted) {
      throw new SourceError('timeout', 'source did not answer in time', { cause: error });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Whom the attempts of one call are reported for, and what they ask. */
export interface AttemptScope {
  scope: StreamScope;
  /** The offset a resume asks from. */
  resumedFrom?: number | undefined;
}

type Asked = Pick<SourceAttemptMessage, 'operation' | 'key' | 'range'>;

function report(
  observed: AttemptScope,
  asked: Asked,
  attempt: number,
  startedAt: number,
  error: unknown,
): void {
  sourceAttempt.publish({
    scope: observed.scope,
    operation: asked.operation,
    key: asked.key,
    range: asked.range,
    attempt: attempt + 1,
    resumedFrom: observed.resumedFrom,
    outcome: outcomeOfAttempt(error),
    firstByteMs: performance.now() - startedAt,
  });
}

function outcomeOfAttempt(error: unknown): AttemptOutcome {
  if (error === undefined) return 'ok';
  if (error instanceof NotModified) return 'not-modified';
  return error instanceof SourceError ? error.failure : 'error';
}

/** Calls the source until it answers, retrying only failures that nothing was sent for. */
async function withRetry<T>(
  call: (signal: AbortSignal) => Promise<T>,
  policy: OpenPolicy,
  signal: AbortSignal,
  observed: AttemptScope | undefined,
  asked: Asked,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const reported = observed !== undefined && sourceAttempt.hasSubscribers;
    const startedAt = reported ? performance.now() : 0;
    try {
      const answer = await withDeadline(call, policy.firstByteMs, signal);
      if (reported) report(observed, asked, attempt, startedAt, undefined);
      return answer;
    } catch (caught) {
      if (reported) report(observed, asked, attempt, startedAt, caught);
      // A 304 to If-None-Match is an answer, for the caller that asked with it.
      if (caught instanceof NotModified) throw caught;
      const error = asSourceError(caught);
      const retry = error.retryable && attempt < policy.attempts;
      if (!retry || signal.aborted) throw error;
      await backoffUnlessAborted(backoff(policy.backoffMs, attempt), signal);
    }
  }
}

/**
 * A source of a team's own may throw a plain Error: it is a failure of that source all the same,
 * answered 502 with the catalogue's detail, its message kept for the log only.
 */
function asSourceError(error: unknown): SourceError {
  return error instanceof SourceError
    ? error
    : new SourceError('unavailable', 'source failed', { cause: error });
}

/** Waits between attempts; the request's abort ends the wait as a source abort. */
async function backoffUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new SourceError('aborted', 'request aborted during a retry backoff', { cause: error });
  }
}

function sameRange(a: ByteRange | undefined, b: ByteRange | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.start === b.start && a.end === b.end);
}

/** Reads the object's validators, with retries and the first-byte deadline. */
export function statObject(
  source: Source,
  key: string,
  policy: OpenPolicy,
  signal: AbortSignal,
  observed?: AttemptScope,
): Promise<ObjectInfo> {
  return withRetry((attemptSignal) => source.stat(key, attemptSignal), policy, signal, observed, {
    operation: 'stat',
    key,
    range: undefined,
  });
}

/**
 * Opens the object's body, with retries and the first-byte deadline, and checks that the source
 * delivers exactly the range asked: some emulators answer a range they were not asked for.
 */
export function openObject(
  source: Source,
  key: string,
  request: Omit<ReadOptions, 'signal'>,
  policy: OpenPolicy,
  signal: AbortSignal,
  observed?: AttemptScope,
): Promise<ObjectStream> {
  return withRetry(
    async (attemptSignal) => {
      const opened = await source.read(key, { ...request, signal: attemptSignal });
      const whole =
        opened.range !== undefined &&
        opened.range.start === 0 &&
        opened.info.size !== undefined &&
        opened.range.end === opened.info.size - 1;
      if (!sameRange(opened.range, request.range) && !(whole && request.range === undefined)) {
        discard(opened.body);
        throw new SourceError('unavailable', 'source answered another range than asked');
      }
      // Some storages ignore If-Match (s3rver does): an answer with another ETag is another object.
      if (request.ifMatch !== undefined && opened.info.etag !== request.ifMatch) {
        discard(opened.body);
        throw new SourceError('precondition-failed', 'source answered another version');
      }
      return opened;
    },
    policy,
    signal,
    observed,
    { operation: 'read', key, range: request.range },
  );
}
