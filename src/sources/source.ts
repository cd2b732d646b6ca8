import type { Readable } from 'node:stream';

/** What a source knows about an object: its validators and how to present it. */
export interface ObjectInfo {
  /** Full size in bytes; undefined when the source streams without announcing one. */
  size: number | undefined;
  /** Entity tag exactly as the source reports it, quotes included. */
  etag: string | undefined;
  lastModified: Date | undefined;
  contentType: string | undefined;
  cacheControl: string | undefined;
  /** How the stored bytes are encoded (`gzip` for a pre-compressed object); sent as it is. */
  contentEncoding?: string | undefined;
  /** The source can answer byte ranges of this object. */
  acceptRanges: boolean;
}

/** An inclusive byte range, as in `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ReadOptions {
  /** Ask for these bytes only; the source must deliver exactly them or throw. */
  range?: ByteRange | undefined;
  /** Fail with `precondition-failed` unless the object still has this ETag. */
  ifMatch?: string | undefined;
  /**
   * Ask for the body only if the object no longer has this ETag; when it still has it, `read`
   * rejects with `NotModified` (never with a SourceError) and no body is transferred.
   */
  ifNoneMatch?: string | undefined;
  /** Aborting it ends the request and releases its connection. */
  signal: AbortSignal;
}

/**
 * The answer to a read with `ifNoneMatch` when the object still has that ETag: an outcome, not
 * a failure. A 304 carries no body and may carry no validators, so the caller keeps its own.
 */
export class NotModified extends Error {
  constructor() {
    super('object not modified');
    this.name = 'NotModified';
  }
}

/** A source's answer: the object's validators and a body that whoever receives it owns. */
export interface ObjectStream {
  info: ObjectInfo;
  /** The range the body covers, as the source reported it; undefined for the whole object. */
  range: ByteRange | undefined;
  body: Readable;
}

/**
 * The one interface every backend implements. A source never touches the HTTP reply; failures
 * are thrown as SourceError.
 */
export interface Source {
  /** Validators and size without reading the body. */
  stat(key: string, signal: AbortSignal): Promise<ObjectInfo>;
  read(key: string, options: ReadOptions): Promise<ObjectStream>;
  /** Resolves when the source is reachable and usable (readiness), throws SourceError if not. */
  probe(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
  /**
   * `false` when one read is as fast as several, so that large bodies are never split into
   * parallel ranged parts (docs/parallel-parts.md): a local disk. Unset: parts pay, as where one
   * connection is capped below what a client takes.
   */
  readonly parallelParts?: boolean;
}
