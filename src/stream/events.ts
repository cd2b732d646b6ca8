import { channel } from 'node:diagnostics_channel';
import type { Readable, Writable } from 'node:stream';
import { SourceError, type SourceFailure } from '../errors.js';
import type { ByteRange } from '../sources/source.js';

/**
 * The stream's events on `node:diagnostics_channel`: published by the body's owner at the start
 * and end of a stream and by the opener after each source attempt, never per chunk, and only
 * while someone listens. Metrics, the access log and tracing subscribe; so can any APM agent.
 */

/** Who a stream serves: one object per request, the same in every event of that request. */
export interface StreamScope {
  /** The route's operation id; in a team's own route (`reply.sendObject`), its URL pattern. */
  readonly route: string;
  /** The source's name in the route table (`storage`, `upstream`). */
  readonly source: string;
}

export type StreamOutcome = 'complete' | 'client_aborted' | 'source_failed' | 'timed_out';

export interface StreamStartMessage {
  scope: StreamScope;
  /** Bytes the body will carry, when known. */
  length: number | undefined;
}

export interface StreamEndMessage {
  scope: StreamScope;
  outcome: StreamOutcome;
  /** Bytes the source delivered, over every resumed segment. */
  bytesFromSource: number;
  /**
   * Bytes the response took from the body. On a client abort some of them may still sit in the
   * socket's buffer and never reach the client.
   */
  bytesToClient: number;
  /** Times the body was reopened after a break. */
  resumes: number;
}

export interface SourceAttemptMessage {
  scope: StreamScope;
  /** `stat` reads the validators; `read` opens the body. */
  operation: 'stat' | 'read';
  key: string;
  range: ByteRange | undefined;
  /** 1 for the first try, counted per call of the opener. */
  attempt: number;
  /** The offset a resume asked from; undefined for a first open. */
  resumedFrom: number | undefined;
  outcome: AttemptOutcome;
  /** From sending the request to the source's answer (its headers) or failure. */
  firstByteMs: number;
}

/**
 * How a source attempt ended: answered (`ok`, or `not-modified`, the 304 a revalidation asked
 * for), failed as a SourceError's failure, or `error` for anything else a source threw.
 */
export type AttemptOutcome = 'ok' | 'not-modified' | SourceFailure | 'error';

/** Whether the attempt failed: a 304 to If-None-Match is an answer. */
export function attemptFailed(outcome: AttemptOutcome): boolean {
  return outcome !== 'ok' && outcome !== 'not-modified';
}

/** A channel whose messages have one type. */
export interface StreamChannel<T> {
  readonly hasSubscribers: boolean;
  publish(message: T): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: (message: T) => void): () => void;
}

function typedChannel<T>(name: string): StreamChannel<T> {
  const raw = channel(name);
  return {
    get hasSubscribers() {
      return raw.hasSubscribers;
    },
    publish: (message) => raw.publish(message),
    subscribe(listener) {
      // Published only by this module's callers, always with a T.
      const untyped = (message: unknown) => listener(message as T);
      raw.subscribe(untyped);
      return () => {
        raw.unsubscribe(untyped);
      };
    },
  };
}

export const streamStart = typedChannel<StreamStartMessage>('streamgate:stream:start');
export const streamEnd = typedChannel<StreamEndMessage>('streamgate:stream:end');
export const sourceAttempt = typedChannel<SourceAttemptMessage>('streamgate:source:attempt');

/**
 * The scope of a stream that no observability plugin follows (a team's own app), made only
 * while any of the stream channels has a listener.
 */
export function scopeIfObserved(route: string, source: string): StreamScope | undefined {
  const observed =
    streamStart.hasSubscribers || streamEnd.hasSubscribers || sourceAttempt.hasSubscribers;
  return observed ? { route, source } : undefined;
}

/** A body destroyed before its end: by its source's failure, or by the client leaving. */
export function outcomeOf(error: Error | null): StreamOutcome {
  if (!(error instanceof SourceError)) return 'client_aborted';
  const timedOut =
    error.failure === 'timeout' ||
    (error.cause instanceof SourceError && error.cause.failure === 'timeout');
  return timedOut ? 'timed_out' : 'source_failed';
}

/** What a body reports at its end, each asked once, when it closes. */
export interface StreamTotals {
  /** Bytes the response took from the body. */
  taken(): number;
  fromSource(): number;
  resumes(): number;
}

/**
 * Publishes the start and end of a body that no SourceBody of its own owns (one served from
 * memory or replayed from a shared read): the start now, the end when it closes.
 */
export function reportStream(
  body: Readable,
  scope: StreamScope | undefined,
  length: number | undefined,
  totals: StreamTotals,
): void {
  if (scope === undefined || !(streamStart.hasSubscribers || streamEnd.hasSubscribers)) return;
  if (streamStart.hasSubscribers) streamStart.publish({ scope, length });
  let failure: Error | null = null;
  body.once('error', (error: Error) => {
    failure = error;
  });
  body.once('close', () => {
    if (!streamEnd.hasSubscribers) return;
    const taken = totals.taken();
    // A client that has every byte may close before the body reports its end.
    const complete = failure === null && (body.readableEnded || taken === length);
    streamEnd.publish({
      scope,
      outcome: complete ? 'complete' : outcomeOf(failure),
      bytesFromSource: totals.fromSource(),
      bytesToClient: taken,
      resumes: totals.resumes(),
    });
  });
}

/**
 * Publishes the start and end of a body sent whole from memory (a cached object), which no
 * stream carries: the start now, the end when the response closes, complete if it finished.
 */
export function reportSent(
  response: Writable,
  scope: StreamScope | undefined,
  length: number,
): void {
  if (scope === undefined || !(streamStart.hasSubscribers || streamEnd.hasSubscribers)) return;
  if (streamStart.hasSubscribers) streamStart.publish({ scope, length });
  response.once('close', () => {
    if (!streamEnd.hasSubscribers) return;
    const complete = response.writableFinished;
    streamEnd.publish({
      scope,
      outcome: complete ? 'complete' : 'client_aborted',
      bytesFromSource: 0,
      bytesToClient: complete ? length : 0,
      resumes: 0,
    });
  });
}
