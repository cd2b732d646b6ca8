import diagnosticsChannel from 'node:diagnostics_channel';
import type { Readable } from 'node:stream';
import { type CacheEntry, type CacheSettings, ObjectCache } from './cache/object-cache.js';
import type { Decision } from './http/conditional.js';
import { responseHeaders } from './http/headers.js';
import type { ObjectAnswer, ObjectTarget, ServePolicy } from './serve-object.js';
import type { ObjectInfo, ObjectStream, Source } from './sources/source.js';
import { Coalescer, type ReadRequest } from './stream/coalesce.js';
import { type AttemptScope, statObject } from './stream/open.js';

/** Published once per request the cache answered or was asked for, when someone subscribes. */
export interface CacheEvent {
  source: string;
  /**
   * `hit`: served from a fresh entry; `miss`: the cache knew nothing; `revalidated`: a stale
   * entry the source confirmed (304, or the same ETag); `replaced`: the source had another version.
   */
  result: 'hit' | 'miss' | 'revalidated' | 'replaced';
}

export const cacheChannel = diagnosticsChannel.channel('streamgate:cache');

export interface SharingSettings {
  /** Largest body concurrent requests share (`COALESCE_MAX_BYTES`); 0 turns coalescing off. */
  coalesceMaxBytes: number;
  /** The small-object cache; off when `maxBytes` is 0. */
  cache: CacheSettings;
}

/** Answers the body of a decided 200 or 206 from an opened stream the request owns. */
export type OwnAnswer = (opened: ObjectStream) => ObjectAnswer;

type BodyDecision = Decision & { status: 200 | 206 };

/**
 * What requests for the same object share: source reads in flight (coalescing) and, when the
 * cache is on, small bodies and validators for a TTL. `serveObject` asks it for validators and
 * bodies instead of asking the source directly.
 */
export class ReadSharing {
  readonly #cache: ObjectCache | undefined;
  readonly #coalescer: Coalescer;
  readonly #names: ReadonlyMap<Source, string>;

  constructor(settings: SharingSettings, names: ReadonlyMap<Source, string>) {
    const { cache } = settings;
    this.#names = names;
    this.#cache = cache.maxBytes > 0 ? new ObjectCache(cache) : undefined;
    const store = this.#cache;
    this.#coalescer = new Coalescer({
      maxBytes: settings.coalesceMaxBytes,
      names,
      ...(store && {
        keepBytes: cache.maxObjectBytes,
        completed: (source, key, info, chunks, openedAt) =>
          store.store(source, key, info, Buffer.concat(chunks), openedAt),
      }),
    });
  }

  /** Sharing that does something with these settings, or undefined (the direct path). */
  static for(
    settings: SharingSettings,
    names: ReadonlyMap<Source, string>,
  ): ReadSharing | undefined {
    if (settings.coalesceMaxBytes === 0 && settings.cache.maxBytes === 0) return undefined;
    return new ReadSharing(settings, names);
  }

  /** The object's validators: a fresh cache entry's, else the source's (then remembered). */
  async stat(target: ObjectTarget, policy: ServePolicy, signal: AbortSignal): Promise<ObjectInfo> {
    const { source, key } = target;
    const cache = this.#cache;
    if (cache === undefined)
      return statObject(source, key, policy.open, signal, attemptScope(target));
    const entry = cache.get(source, key);
    if (entry !== undefined && cache.fresh(entry)) {
      this.#publish(source, 'hit');
      return entry.info;
    }
    const askedAt = performance.now();
    const info = await statObject(source, key, policy.open, signal, attemptScope(target));
    this.#publish(source, cache.validated(source, key, info, askedAt));
    return info;
  }

  /** Drops what the cache knows of an object the source says has changed. */
  forget(target: ObjectTarget): void {
    this.#cache?.forget(target.source, target.key);
  }

  /** The answer to a plain GET: from a fresh cached body, revalidated, or read (shared). */
  async plain(
    target: ObjectTarget,
    policy: ServePolicy,
    controller: AbortController,
    own: OwnAnswer,
  ): Promise<ObjectAnswer> {
    const { source, key } = target;
    const cache = this.#cache;
    const entry = cache?.get(source, key);
    const decision = { status: 200 } as const;
    if (cache === undefined || entry?.body === undefined) {
      if (cache !== undefined) this.#publish(source, 'miss');
      return this.#read(decision, target, {}, undefined, policy, controller, own);
    }
    if (cache.fresh(entry)) {
      this.#publish(source, 'hit');
      return fromMemory(decision, entry, target);
    }
    const etag = entry.info.etag;
    const joined = await this.#coalescer.read(
      target,
      { ifNoneMatch: etag },
      undefined,
      policy,
      controller,
    );
    if (joined.kind === 'not-modified') {
      cache.refresh(entry, joined.checkedAt);
      this.#publish(source, 'revalidated');
      return fromMemory(decision, entry, target);
    }
    this.#publish(source, 'replaced');
    return answer(decision, joined, target, own);
  }

  /**
   * The body of a decided 200 or 206 at the version `ifMatch`: from the cached body when it is
   * that version, else read (shared with requests for the same range and version).
   */
  async decided(
    decision: BodyDecision,
    target: ObjectTarget,
    request: ReadRequest,
    info: ObjectInfo,
    policy: ServePolicy,
    controller: AbortController,
    own: OwnAnswer,
  ): Promise<ObjectAnswer> {
    const cache = this.#cache;
    const entry = cache?.get(target.source, target.key);
    if (entry?.body !== undefined && cache?.fresh(entry) && entry.info.etag === info.etag) {
      return fromMemory(decision, entry, target);
    }
    const { range } = request;
    const length = range === undefined ? info.size : range.end - range.start + 1;
    return this.#read(decision, target, request, length, policy, controller, own);
  }

  async #read(
    decision: BodyDecision,
    target: ObjectTarget,
    request: ReadRequest,
    length: number | undefined,
    policy: ServePolicy,
    controller: AbortController,
    own: OwnAnswer,
  ): Promise<ObjectAnswer> {
    const joined = await this.#coalescer.read(target, request, length, policy, controller);
    if (joined.kind === 'not-modified')
      throw new Error('a read without If-None-Match was not modified');
    return answer(decision, joined, target, own);
  }

  #publish(source: Source, result: CacheEvent['result']): void {
    if (cacheChannel.hasSubscribers) {
      cacheChannel.publish({ source: this.#names.get(source) ?? '', result } satisfies CacheEvent);
    }
  }
}

function answer(
  decision: BodyDecision,
  joined:
    | { kind: 'shared'; info: ObjectInfo; body: Readable }
    | { kind: 'own'; stream: ObjectStream },
  target: ObjectTarget,
  own: OwnAnswer,
): ObjectAnswer {
  if (joined.kind === 'own') return own(joined.stream);
  return {
    status: decision.status,
    headers: responseHeaders(decision, joined.info, target.presentation),
    body: joined.body,
  };
}

/**
 * A cached body, or the decided range of it, as the answer's body: a Buffer, not a stream, so
 * that a hit costs one write and none of a stream's machinery.
 */
function fromMemory(decision: BodyDecision, entry: CacheEntry, target: ObjectTarget): ObjectAnswer {
  const cached = entry.body ?? Buffer.alloc(0);
  const body =
    decision.status === 206
      ? cached.subarray(decision.range.start, decision.range.end + 1)
      : cached;
  return {
    status: decision.status,
    headers: responseHeaders(decision, entry.info, target.presentation),
    body,
  };
}

function attemptScope({ scope }: ObjectTarget): AttemptScope | undefined {
  return scope === undefined ? undefined : { scope };
}
