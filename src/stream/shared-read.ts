import { Readable } from 'node:stream';
import { discard } from '../sources/discard.js';
import { NotModified, type ObjectInfo, type ObjectStream } from '../sources/source.js';
import { reportStream, type StreamScope } from './events.js';

/** The body that owns a shared read's source stream, with how often it resumed it. */
export type OwnedBody = Readable & { readonly resumes: number };

/**
 * How an opened read goes on: `shared` when its body is small enough to keep in memory for
 * every member, `handed` when one member takes the source's stream for itself.
 */
export type ReadStart =
  | { kind: 'shared'; info: ObjectInfo }
  | { kind: 'handed' }
  /** The read asked with If-None-Match and the object still has that ETag. */
  | { kind: 'not-modified' };

/**
 * One source read that several requests share. It opens the object once; when the body is
 * small enough it keeps every chunk in memory (at most the body's length, which the caller
 * bounds) and hands each member a `SharedBody` that replays them at that member's own pace.
 * The source is read at its own pace whatever the members do. When the last member leaves
 * before the body is complete, the source read is aborted and its body discarded.
 */
export class SharedRead {
  /** Resolves once the source answered; rejects with the open's error (every member sees it). */
  readonly started: Promise<ReadStart>;
  /** When the read was started: the bytes are at least as new as this (`performance.now()`). */
  readonly openedAt = performance.now();
  readonly #controller = new AbortController();
  readonly #chunks: Buffer[] = [];
  readonly #waiting = new Set<SharedBody>();
  readonly #readers = new Set<SharedBody>();
  #members = 0;
  /** Bytes the source delivered to this read. */
  #read = 0;
  #stream: ObjectStream | undefined;
  #body: Readable | undefined;
  #owner: OwnedBody | undefined;
  #failure: Error | undefined;
  #complete = false;
  #taken = false;
  #settled = false;

  /**
   * @param open opens the source's stream with the read's own signal
   * @param own wraps an opened stream into the body that owns it (timeouts, resume), bound to
   *   the signal of the read (the source side)
   * @param keep whether a body of this info is kept in memory and shared
   * @param settled runs once when the read is over (complete, failed or abandoned); with the
   *   whole body when it completed
   */
  constructor(
    open: (signal: AbortSignal) => Promise<ObjectStream>,
    own: (opened: ObjectStream, controller: AbortController) => OwnedBody,
    keep: (opened: ObjectStream) => boolean,
    private readonly onSettled: (info: ObjectInfo | undefined, chunks: readonly Buffer[]) => void,
  ) {
    this.started = open(this.#controller.signal).then(
      (opened) => this.#begin(opened, own, keep),
      (error: unknown): ReadStart => {
        this.settled(undefined, []);
        if (error instanceof NotModified) return { kind: 'not-modified' };
        throw error;
      },
    );
    // A rejection nobody awaits any more (every member left) is not an unhandled one.
    this.started.catch(() => {});
  }

  /** Counts a request in; returns its `leave`, which is safe to call more than once. */
  join(signal: AbortSignal): () => void {
    this.#members++;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      signal.removeEventListener('abort', leave);
      if (--this.#members === 0) this.#abandon();
    };
    if (signal.aborted) queueMicrotask(leave);
    else signal.addEventListener('abort', leave, { once: true });
    return leave;
  }

  /**
   * A body replaying the shared bytes for one member, once the read started as `shared`. Its
   * stream events name `scope`; the bytes read from the source are the leader's to report.
   */
  body(
    leave: () => void,
    scope: StreamScope | undefined,
    leader: boolean,
    length: number | undefined,
  ): Readable {
    const reader = new SharedBody(this, leave);
    this.#readers.add(reader);
    reportStream(reader, scope, length, {
      taken: () => reader.taken,
      fromSource: () => (leader ? this.#read : 0),
      resumes: () => (leader ? (this.#owner?.resumes ?? 0) : 0),
    });
    return reader;
  }

  /**
   * The source's stream of a read too large to share, for the first member that asks: from then
   * on it is that member's, and its `controller` aborting ends the source request.
   */
  take(controller: AbortController): ObjectStream | undefined {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined) return undefined;
    this.#taken = true;
    const abort = () => this.#controller.abort();
    if (controller.signal.aborted) abort();
    else controller.signal.addEventListener('abort', abort, { once: true });
    return stream;
  }

  #begin(
    opened: ObjectStream,
    own: (opened: ObjectStream, controller: AbortController) => OwnedBody,
    keep: (opened: ObjectStream) => boolean,
  ): ReadStart {
    if (this.#members === 0) {
      discard(opened.body);
      this.settled(undefined, []);
      return { kind: 'handed' };
    }
    if (!keep(opened)) {
      this.#stream = opened;
      this.settled(undefined, []);
      return { kind: 'handed' };
    }
    const body = own(opened, this.#controller);
    this.#body = body;
    this.#owner = body;
    body.on('data', (chunk: Buffer) => {
      this.#read += chunk.length;
      this.#chunks.push(chunk);
      for (const reader of this.#waiting) reader.more();
    });
    body.once('end', () => {
      this.#complete = true;
      this.#over(opened.info);
    });
    body.once('error', (error) => {
      this.#failure = error;
      this.#over(undefined);
    });
    return { kind: 'shared', info: opened.info };
  }

  /** @internal The chunk at `index` for a reader, or what it should do when there is none. */
  chunk(index: number): Buffer | 'wait' | 'end' | Error {
    const chunk = this.#chunks[index];
    if (chunk !== undefined) return chunk;
    if (this.#failure !== undefined) return this.#failure;
    return this.#complete ? 'end' : 'wait';
  }

  /** @internal */
  wait(reader: SharedBody, waiting: boolean): void {
    if (waiting) this.#waiting.add(reader);
    else this.#waiting.delete(reader);
  }

  /** @internal */
  drop(reader: SharedBody): void {
    this.#readers.delete(reader);
    this.#waiting.delete(reader);
  }

  #over(info: ObjectInfo | undefined): void {
    this.settled(info, info === undefined ? [] : this.#chunks);
    const failure = this.#failure;
    // Readers held back by their clients see the end or the failure on their next read.
    if (failure === undefined) for (const reader of this.#waiting) reader.more();
    else for (const reader of this.#readers) reader.destroy(failure);
    this.#waiting.clear();
  }

  /** Runs `onSettled` once: the first outcome of a read is its outcome. */
  private settled(info: ObjectInfo | undefined, chunks: readonly Buffer[]): void {
    if (this.#settled) return;
    this.#settled = true;
    this.onSettled(info, chunks);
  }

  #abandon(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream !== undefined) discard(stream.body);
    if (this.#taken || this.#complete || this.#failure !== undefined) return;
    // Nobody may join a read that is being torn down.
    this.settled(undefined, []);
    // Before the answer this ends the request; after, destroying the owner discards the body.
    this.#controller.abort();
    this.#body?.destroy();
  }
}

/** One member's view of a shared read: the chunks already read, then the rest as they come. */
class SharedBody extends Readable {
  #next = 0;
  #ended = false;
  #pushed = 0;

  /** Bytes its reader took (pushed, less what is still buffered). */
  get taken(): number {
    return this.#pushed - this.readableLength;
  }

  constructor(
    private readonly shared: SharedRead,
    private readonly leave: () => void,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _read(): void {
    this.more();
  }

  /** Pushes what is there until the client's buffer is full; waits for more otherwise. */
  more(): void {
    if (this.destroyed || this.#ended) return;
    for (;;) {
      const next = this.shared.chunk(this.#next);
      // Only a reader that still wants bytes waits; one its client holds back is asked by
      // `_read` again, so the shared read's 'data' loop never visits it.
      if (next === 'wait') {
        this.shared.wait(this, true);
        return;
      }
      if (next === 'end') {
        this.shared.wait(this, false);
        this.#ended = true;
        return void this.push(null);
      }
      if (next instanceof Error) return void this.destroy(next);
      this.#next++;
      this.#pushed += next.length;
      if (!this.push(next)) {
        this.shared.wait(this, false);
        return;
      }
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.shared.drop(this);
    this.leave();
    callback(error);
  }
}
