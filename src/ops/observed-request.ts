import type { Span } from '@opentelemetry/api';
import type { StreamEndMessage, StreamScope } from '../stream/events.js';

/**
 * One request as observability sees it, and the scope its stream events carry. It is over once
 * its response has closed and, when a body was streamed, that body has reported its end: the
 * two happen in either order (the last byte is taken before the response finishes; a client
 * that leaves closes the response before the body is destroyed).
 */
export class ObservedRequest implements StreamScope {
  attempts = 0;
  #streaming = false;
  #stream: StreamEndMessage | undefined;
  #closed = false;
  #over = false;

  constructor(
    /** Whose subscribers record this request: several apps may run in one process. */
    readonly owner: object,
    readonly route: string,
    readonly source: string,
    readonly span: Span,
    /** Read at the start: the socket may be gone when the request is over. */
    readonly client: string,
    readonly onOver: (request: ObservedRequest) => void,
  ) {}

  /** The streamed body's end report, when there was a body. */
  get stream(): StreamEndMessage | undefined {
    return this.#stream;
  }

  streamStarted(): void {
    this.#streaming = true;
  }

  streamEnded(message: StreamEndMessage): void {
    this.#stream = message;
    if (this.#closed) this.#end();
  }

  responseClosed(): void {
    this.#closed = true;
    if (!this.#streaming || this.#stream !== undefined) this.#end();
  }

  /** Once: a body opened for a client that had already gone ends after the response closed. */
  #end(): void {
    if (this.#over) return;
    this.#over = true;
    this.onOver(this);
  }
}
