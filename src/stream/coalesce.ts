import diagnosticsChannel from 'node:diagnostics_channel';
import type { Readable } from 'node:stream';
import type {
  ByteRange,
  ObjectInfo,
  ObjectStream,
  ReadOptions,
  Source,
} from '../sources/source.js';
import type { StreamScope } from './events.js';
import { type AttemptScope, type OpenPolicy, openObject } from './open.js';
import { type ResumePolicy, Resumer } from './resume.js';
import { SharedRead } from './shared-read.js';
import { type BodyPolicy, SourceBody } from './source-body.js';

/**
 * Published on `streamgate:coalesce` once per request that took part in a read open to sharing
 * (not for reads that turned out too large), only while someone subscribes.
 */
export interface CoalesceEvent {
  source: string;
  /** `leader` opened the read; a `follower` joined it while it was in flight. */
  role: 'leader' | 'follower';
}

export const coalesceChannel = diagnosticsChannel.channel('streamgate:coalesce');

/** What one request reads: the whole object or a range, optionally at a version. */
export type ReadRequest = Omit<ReadOptions, 'signal'>;

export interface ReadPolicy {
  open: OpenPolicy;
  resume: ResumePolicy;
  body: BodyPolicy;
}

/** A request's share of a read. */
export type Joined =
  /** The bytes of a read several requests may share; `info` is its leader's. */
  | { kind: 'shared'; info: ObjectInfo; body: Readable }
  /** A read for this request alone, its body for the caller to own. */
  | { kind: 'own'; stream: ObjectStream }
  /** The object still has the ETag asked with If-None-Match, as of `checkedAt`. */
  | { kind: 'not-modified'; checkedAt: number };

/** Receives the whole body of every whole-object read that completed in memory. */
export type CompletedRead = (
  source: Source,
  key: string,
  info: ObjectInfo,
  chunks: readonly Buffer[],
  openedAt: number,
) => void;

export interface CoalescerOptions {
  /** Largest body requests share; 0 shares nothing. */
  maxBytes: number;
  /** Source names for the events. */
  names: ReadonlyMap<Source, string>;
  /**
   * Whole-object reads up to this size are kept in memory even when not shared, for
   * `completed`; 0 keeps none.
   */
  keepBytes?: number;
  completed?: CompletedRead;
}

function readId(key: string, request: ReadRequest): string {
  const { range, ifMatch, ifNoneMatch } = request;
  const span = range === undefined ? '' : `${range.start}-${range.end}`;
  return `${span}\n${ifMatch ?? ''}\n${ifNoneMatch ?? ''}\n${key}`;
}

function bodyLength(range: ByteRange | undefined, info: ObjectInfo): number | undefined {
  return range === undefined ? info.size : range.end - range.start + 1;
}

/**
 * One origin read for a crowd: concurrent requests for the same object, range and version
 * share the read that the first of them opened, as long as it is in flight and its body is at
 * most `maxBytes`. Each follower gets the bytes already read, then the rest as they come, at
 * its own pace; a source failure before the first byte reaches every member as the same error,
 * one after it is resumed once for all of them. A read leaves the table when it is over:
 * keeping finished bodies is the cache's job.
 */
export class Coalescer {
  readonly #reads = new Map<Source, Map<string, SharedRead>>();
  readonly #maxBytes: number;
  readonly #keepBytes: number;
  readonly #names: ReadonlyMap<Source, string>;
  readonly #completed: CompletedRead | undefined;

  constructor(options: CoalescerOptions) {
    this.#maxBytes = options.maxBytes;
    this.#keepBytes = options.keepBytes ?? 0;
    this.#names = options.names;
    this.#completed = options.completed;
  }

  /**
   * Reads `key` for one request. `length` is the body's size when known beforehand (after a
   * stat); `controller` is the request's: its abort makes the request leave the read.
   */
  async read(
    target: ReadTarget,
    request: ReadRequest,
    length: number | undefined,
    policy: ReadPolicy,
    controller: AbortController,
  ): Promise<Joined> {
    const { source, key } = target;
    const openOwn = () =>
      openObject(source, key, request, policy.open, controller.signal, attemptScope(target));
    const shares = this.#maxBytes > 0 && (length === undefined || length <= this.#maxBytes);
    const keeps = this.#keeps(request, length);
    if (!shares && !keeps) return { kind: 'own', stream: await openOwn() };
    const id = readId(key, request);
    let read = shares ? this.#reads.get(source)?.get(id) : undefined;
    const role = read === undefined ? 'leader' : 'follower';
    if (read === undefined) {
      read = this.#start(target, request, policy, shares ? id : undefined);
    }
    const leave = read.join(controller.signal);
    let start: Awaited<SharedRead['started']>;
    try {
      start = await read.started;
    } catch (error) {
      leave();
      throw error;
    }
    if (shares && start.kind !== 'handed' && coalesceChannel.hasSubscribers) {
      const event: CoalesceEvent = { source: this.#names.get(source) ?? '', role };
      coalesceChannel.publish(event);
    }
    if (start.kind === 'shared')
      return {
        kind: 'shared',
        info: start.info,
        body: read.body(
          leave,
          target.scope,
          role === 'leader',
          bodyLength(request.range, start.info),
        ),
      };
    // Too large to share: the first member takes the stream (before leaving, which would
    // discard it), the others open their own.
    const taken = start.kind === 'handed' ? read.take(controller) : undefined;
    leave();
    if (start.kind === 'not-modified') return { kind: 'not-modified', checkedAt: read.openedAt };
    const stream = taken ?? (await openOwn());
    return { kind: 'own', stream };
  }

  #keeps(request: ReadRequest, length: number | undefined): boolean {
    return (
      this.#completed !== undefined &&
      request.range === undefined &&
      (length === undefined || length <= this.#keepBytes)
    );
  }

  #start(
    target: ReadTarget,
    request: ReadRequest,
    policy: ReadPolicy,
    id: string | undefined,
  ): SharedRead {
    const { source, key } = target;
    const { range } = request;
    const reads = this.#reads;
    const limit = Math.max(
      id === undefined ? 0 : this.#maxBytes,
      this.#keeps(request, undefined) ? this.#keepBytes : 0,
    );
    const read: SharedRead = new SharedRead(
      (signal) => openObject(source, key, request, policy.open, signal, attemptScope(target)),
      (opened, controller) => sharedBody(target, opened, range, policy, controller),
      (opened) => {
        const size = bodyLength(range, opened.info);
        return size !== undefined && size <= limit;
      },
      (info, chunks) => {
        if (id !== undefined) {
          const table = reads.get(source);
          if (table?.get(id) === read) table.delete(id);
          if (table?.size === 0) reads.delete(source);
        }
        if (info !== undefined && range === undefined)
          this.#completed?.(source, key, info, chunks, read.openedAt);
      },
    );
    if (id !== undefined) {
      const table = reads.get(source) ?? new Map<string, SharedRead>();
      reads.set(source, table);
      table.set(id, read);
    }
    return read;
  }
}

/** The owner of a shared read's source body: timeouts, and resuming at the next byte. */
function sharedBody(
  target: ReadTarget,
  opened: ObjectStream,
  range: ByteRange | undefined,
  policy: ReadPolicy,
  controller: AbortController,
): SourceBody {
  const reopen = async (rest: ByteRange, ifMatch: string, signal: AbortSignal) =>
    (
      await openObject(
        target.source,
        target.key,
        { range: rest, ifMatch },
        policy.open,
        signal,
        attemptScope(target, rest.start),
      )
    ).body;
  return new SourceBody(opened.body, {
    length: bodyLength(range, opened.info),
    resumer: Resumer.for(opened.info, range, reopen, policy.resume),
    policy: policy.body,
    controller,
  });
}

/** What a read is of, and who it is for (the scope of the request that opens it). */
export interface ReadTarget {
  source: Source;
  key: string;
  scope?: StreamScope | undefined;
}

function attemptScope(target: ReadTarget, resumedFrom?: number): AttemptScope | undefined {
  return target.scope === undefined ? undefined : { scope: target.scope, resumedFrom };
}
