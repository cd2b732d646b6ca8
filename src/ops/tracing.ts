import {
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { attemptFailed, type SourceAttemptMessage } from '../stream/events.js';

/**
 * Spans through `@opentelemetry/api` alone: with no SDK registered every call is a no-op, and
 * the attempt spans are skipped outright. Attribute names follow the stable HTTP semantic
 * conventions; the gateway's own are prefixed `streamgate.`.
 */
export class RequestTracer {
  readonly #tracer: Tracer;

  constructor(version: string) {
    this.#tracer = trace.getTracer('streamgate', version);
  }

  /** The server span of a request, child of the caller's trace context when it sends one. */
  startRequest(request: {
    method: string;
    path: string;
    route: string | undefined;
    headers: Record<string, string | string[] | undefined>;
    /** The socket's peer, or the client a trusted proxy names. */
    client: string | undefined;
  }): Span {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const name =
      request.route === undefined ? request.method : `${request.method} ${request.route}`;
    const span = this.#tracer.startSpan(
      name,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, 'url.path': request.path },
      },
      parent,
    );
    if (request.route !== undefined) span.setAttribute('http.route', request.route);
    if (request.client !== undefined) span.setAttribute('client.address', request.client);
    return span;
  }

  /** Ends a request's span with its status; a 5xx is an error of the server. */
  endRequest(span: Span, status: number, outcome: string): void {
    span.setAttribute('http.response.status_code', status);
    span.setAttribute('streamgate.outcome', outcome);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }

  /** One source attempt, reported when it is over, as a child of the request's span. */
  recordAttempt(parent: Span, message: SourceAttemptMessage): void {
    if (!parent.isRecording()) return;
    const now = performance.timeOrigin + performance.now();
    const span = this.#tracer.startSpan(
      `source ${message.operation}`,
      {
        kind: SpanKind.CLIENT,
        startTime: now - message.firstByteMs,
        attributes: {
          'streamgate.source': message.scope.source,
          'streamgate.source.operation': message.operation,
          'streamgate.source.key': message.key,
          'streamgate.source.attempt': message.attempt,
          'streamgate.source.outcome': message.outcome,
        },
      },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    if (message.range !== undefined) {
      span.setAttribute(
        'streamgate.source.range',
        `bytes=${message.range.start}-${message.range.end}`,
      );
    }
    if (message.resumedFrom !== undefined) {
      span.setAttribute('streamgate.source.resumed_from', message.resumedFrom);
    }
    if (attemptFailed(message.outcome))
      span.setStatus({ code: SpanStatusCode.ERROR, message: message.outcome });
    span.end(now);
  }
}
