import type { ObjectInfo, Source } from '../sources/source.js';

export interface CacheSettings {
  /** Bytes of bodies (and a small allowance per entry) the cache may hold; 0 turns it off. */
  readonly maxBytes: number;
  /** Largest body kept; the validators of larger objects are kept alone. */
  readonly maxObjectBytes: number;
  /** How long an entry is served without asking the source; then it is revalidated. */
  readonly ttlMs: number;
}

/** An object as the cache knows it. */
export interface CacheEntry {
  readonly info: ObjectInfo;
  /** The whole body, when the object is small enough to keep. */
  readonly body: Buffer | undefined;
  /** When the source last confirmed this version (`performance.now()`). */
  checkedAt: number;
}

/** What a stat's answer did to an entry. */
export type Validation = 'miss' | 'revalidated' | 'replaced';

/** Accounted per entry on top of its body: the validators, the key and the map's own cost. */
const ENTRY_BYTES = 512;

/**
 * A per-process store of small objects and their validators, least recently used evicted first
 * by bytes. An entry is fresh for `ttlMs` after the source last confirmed it; the caller
 * revalidates a stale one, so a version overwritten in storage is never served for longer than
 * the TTL after the source stopped having it.
 */
export class ObjectCache {
  readonly #settings: CacheSettings;
  /** Insertion order is recency: a used entry is moved to the end. */
  readonly #entries = new Map<string, CacheEntry>();
  readonly #ids = new WeakMap<Source, number>();
  #nextId = 0;
  #bytes = 0;

  constructor(settings: CacheSettings) {
    this.#settings = settings;
  }

  /** Bytes held, entries' allowance included. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True while the source's confirmation of `entry` is younger than the TTL. */
  fresh(entry: CacheEntry, now = performance.now()): boolean {
    return now - entry.checkedAt < this.#settings.ttlMs;
  }

  /** The entry of an object, marked as recently used. */
  get(source: Source, key: string): CacheEntry | undefined {
    const id = this.#id(source, key);
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return entry;
  }

  /** True when a body of `size` bytes would be kept. */
  keeps(size: number | undefined): boolean {
    return size !== undefined && size <= this.#settings.maxObjectBytes;
  }

  /** Keeps an object's whole body with its validators, confirmed at `checkedAt`. */
  store(source: Source, key: string, info: ObjectInfo, body: Buffer, checkedAt: number): void {
    if (info.etag === undefined || !this.keeps(body.length) || body.length !== info.size) return;
    this.#put(source, key, { info, body, checkedAt });
  }

  /**
   * Records validators a stat read at `checkedAt`: the same ETag keeps the body and refreshes
   * it, another one replaces the entry with the validators alone.
   */
  validated(source: Source, key: string, info: ObjectInfo, checkedAt: number): Validation {
    const known = this.get(source, key);
    if (known !== undefined && known.info.etag !== undefined && known.info.etag === info.etag) {
      known.checkedAt = Math.max(known.checkedAt, checkedAt);
      return 'revalidated';
    }
    this.#put(source, key, { info, body: undefined, checkedAt });
    return known === undefined ? 'miss' : 'replaced';
  }

  /** The source confirmed at `checkedAt` that `entry` is still its version. */
  refresh(entry: CacheEntry, checkedAt: number): void {
    entry.checkedAt = Math.max(entry.checkedAt, checkedAt);
  }

  forget(source: Source, key: string): void {
    const id = this.#id(source, key);
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#bytes -= cost(entry);
  }

  #put(source: Source, key: string, entry: CacheEntry): void {
    this.forget(source, key);
    const bytes = cost(entry);
    if (bytes > this.#settings.maxBytes) return;
    this.#entries.set(this.#id(source, key), entry);
    this.#bytes += bytes;
    for (const [id, oldest] of this.#entries) {
      if (this.#bytes <= this.#settings.maxBytes) break;
      this.#entries.delete(id);
      this.#bytes -= cost(oldest);
    }
  }

  #id(source: Source, key: string): string {
    let id = this.#ids.get(source);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(source, id);
    }
    return `${id}\n${key}`;
  }
}

function cost(entry: CacheEntry): number {
  return ENTRY_BYTES + (entry.body?.length ?? 0);
}
