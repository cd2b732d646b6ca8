import { Readable } from 'node:stream';
import { SourceError } from '../errors.js';
import type { ByteRange, ObjectInfo } from '../sources/source.js';
import { discard } from './discard.js';
import { outcomeOf, type StreamScope, streamEnd, streamStart } from './events.js';
import { FirstBytes } from './first-bytes.js';
import { publishPart } from './part-events.js';
import { type PartPlan, partRange } from './parts.js';
import { type OpenRange, type ResumePolicy, Resumer, strongEtag } from './resume.js';
import { type BodyPolicy, SourceBody } from './source-body.js';

export interface ParallelBodyOptions {
  plan: PartPlan;
  /** The object's validators, as the first answer reported them. */
  info: ObjectInfo;
  /** Opens a range of the same object with If-Match (retries and checks included). */
  open: OpenRange;
  resume: ResumePolicy;
  body: BodyPolicy;
  /** The request's controller: aborting it ends every part; an early end aborts it. */
  controller: AbortController;
  /** Names the stream in its start and end events (the parts publish none of their own). */
  scope: StreamScope | undefined;
  /** For the parts event only. */
  source: string | undefined;
  key: string;
}

/**
 * One part in flight: its own SourceBody (idle timeout, resume within the part's range, read
 * ahead of the client up to the part's length and no further) under a controller of its own,
 * which the parallel body aborts when it ends early.
 */
class Part {
  readonly range: ByteRange;
  readonly controller = new AbortController();
  body: SourceBody | undefined;
  resumes = 0;

  constructor(range: ByteRange) {
    this.range = range;
  }

  get length(): number {
    return this.range.end - this.range.start + 1;
  }

  start(source: Readable, options: ParallelBodyOptions): SourceBody {
    const countedOpen: OpenRange = (range, etag, signal) => {
      this.resumes++;
      return options.open(range, etag, signal);
    };
    this.body = new SourceBody(source, {
      length: this.length,
      resumer: Resumer.for(options.info, this.range, countedOpen, options.resume),
      // The whole download's cap is the parallel body's; the idle timeout is each part's.
      policy: { idleMs: options.body.idleMs, totalMs: 0 },
      controller: this.controller,
      highWaterMark: this.length,
    });
    return this.body;
  }

  /** Ends the part on every path: its body (and so its source) and any request in flight. */
  end(): void {
    this.body?.destroy();
    this.controller.abort();
  }
}

/**
 * The body sent to the client for a parallel download: the parts of `plan`, fetched over up to
 * `plan.window` connections and sent in order. The first part is read from the answer already
 * open (so the first byte comes as soon as over one connection); each later part opens with
 * If-Match when the part `window` places before it has been sent, so memory stays within
 * `window` parts and a slow client stops further parts. A part that breaks is resumed within
 * its range; one that cannot be, or cannot be opened, errors this body (the client connection
 * is aborted, never ended cleanly). Destroying it ends every part at once.
 */
export class ParallelBody extends Readable {
  readonly #options: ParallelBodyOptions;
  readonly #etag: string;
  /** Parts opening or open, in order; the first is the one being sent. */
  readonly #window: Part[] = [];
  readonly #total: NodeJS.Timeout | undefined;
  /** One listener on the request's signal for all parts, however many the window holds. */
  readonly #onAbort = () => this.destroy();
  #next = 0;
  /** The client asked for nothing more: the part being sent is paused. */
  #waiting = false;
  #sending: SourceBody | undefined;
  #complete = false;
  #pushed = 0;
  #resumes = 0;

  constructor(first: Readable, options: ParallelBodyOptions) {
    super({ highWaterMark: 64 * 1024 });
    this.#options = options;
    // planParts only plans objects with a strong ETag.
    this.#etag = strongEtag(options.info) ?? '';
    if (options.scope !== undefined && streamStart.hasSubscribers) {
      streamStart.publish({ scope: options.scope, length: spanLength(options.plan) });
    }
    const { totalMs } = options.body;
    if (totalMs > 0) {
      this.#total = setTimeout(
        () => this.destroy(new SourceError('timeout', 'download exceeded its time limit')),
        totalMs,
      );
    }
    options.controller.signal.addEventListener('abort', this.#onAbort, { once: true });
    const part = this.#add();
    this.#started(part, part.start(new FirstBytes(first, part.length), options));
    this.#fill();
  }

  override _read(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    this.#sending?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#total);
    this.#options.controller.signal.removeEventListener('abort', this.#onAbort);
    for (const part of this.#window.splice(0)) part.end();
    this.#sending = undefined;
    if (!this.#complete) this.#options.controller.abort();
    this.#reportEnd(error);
    callback(error);
  }

  /** Bytes from the source count those sent on; a part read ahead and then dropped is not. */
  #reportEnd(error: Error | null): void {
    const { scope } = this.#options;
    if (scope === undefined || !streamEnd.hasSubscribers) return;
    const taken = this.#pushed - this.readableLength;
    const complete = error === null && (this.#complete || taken === spanLength(this.#options.plan));
    streamEnd.publish({
      scope,
      outcome: complete ? 'complete' : outcomeOf(error),
      bytesFromSource: this.#pushed,
      bytesToClient: taken,
      resumes: this.#resumes,
    });
  }

  #add(): Part {
    const part = new Part(partRange(this.#options.plan, this.#next++));
    this.#window.push(part);
    return part;
  }

  /** Opens parts until the window is full or none is left. */
  #fill(): void {
    const { plan } = this.#options;
    while (this.#window.length < plan.window && this.#next < plan.count) this.#open(this.#add());
  }

  #open(part: Part): void {
    this.#options.open(part.range, this.#etag, part.controller.signal).then(
      (source) => {
        // Ended while it was opening (the client left, another part failed): nobody reads it.
        if (this.destroyed || part.controller.signal.aborted) discard(source);
        else this.#started(part, part.start(source, this.#options));
      },
      (error: unknown) => {
        if (this.destroyed) return;
        this.destroy(new SourceError('truncated', 'a part could not be opened', { cause: error }));
      },
    );
  }

  #started(part: Part, body: SourceBody): void {
    body.once('error', (error) => this.destroy(error));
    if (this.#window[0] === part) this.#send(part, body);
  }

  #send(part: Part, body: SourceBody): void {
    this.#sending = body;
    body.on('data', (chunk: Buffer) => {
      this.#pushed += chunk.length;
      if (!this.push(chunk)) {
        this.#waiting = true;
        body.pause();
      }
    });
    if (this.#waiting) body.pause();
    body.once('end', () => this.#sent(part));
  }

  #sent(part: Part): void {
    this.#window.shift();
    part.end();
    this.#resumes += part.resumes;
    this.#sending = undefined;
    publishPart({
      source: this.#options.source,
      key: this.#options.key,
      range: part.range,
      bytes: part.length,
      resumed: part.resumes,
    });
    this.#fill();
    const next = this.#window[0];
    if (next === undefined) {
      this.#complete = true;
      clearTimeout(this.#total);
      this.push(null);
    } else if (next.body !== undefined) this.#send(next, next.body);
  }
}

function spanLength({ span }: PartPlan): number {
  return span.end - span.start + 1;
}
