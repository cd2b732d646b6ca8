import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import {
  attemptFailed,
  type SourceAttemptMessage,
  type StreamEndMessage,
} from '../stream/events.js';

/** Downloads run from milliseconds to minutes. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const FIRST_BYTE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let processRegistry: Registry | undefined;

/**
 * prom-client's process metrics (CPU, memory, event loop, GC), collected once per process:
 * each collection starts its own observers, and tests build many apps in one process.
 */
export function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** One request as the metrics see it, when its response has closed. */
export interface FinishedRequest {
  route: string;
  method: string;
  status: number;
  durationSeconds: number;
  bytesToClient: number;
}

/**
 * The service's metrics in their own registry. Label values come from the route table (route
 * operation ids, source names, failure names), never from the request, so their number is
 * bounded. Children are made once per label set and kept, so that a request builds no label
 * objects; bench/metrics-cost.ts times the updates of one request.
 */
export class StreamMetrics {
  readonly registry = new Registry();
  readonly #requests = this.#counter(
    'streamgate_requests_total',
    'Requests answered, by route, method and status.',
    ['route', 'method', 'status'],
  );
  readonly #duration = this.#histogram(
    'streamgate_request_duration_seconds',
    'From the request to the last byte of its response (or to the client leaving).',
    ['route'],
    DURATION_BUCKETS,
  );
  readonly #responseBytes = this.#counter(
    'streamgate_response_bytes_total',
    'Body bytes written to clients.',
    ['route'],
  );
  readonly #sourceBytes = this.#counter(
    'streamgate_source_bytes_total',
    'Body bytes read from each source.',
    ['source'],
  );
  readonly #inFlight = new Gauge({
    name: 'streamgate_streams_in_flight',
    help: 'Bodies being streamed now.',
    registers: [this.registry],
  });
  readonly #streams = this.#counter(
    'streamgate_streams_total',
    'Bodies streamed, by how they ended.',
    ['route', 'outcome'],
  );
  readonly #firstByte = this.#histogram(
    'streamgate_source_first_byte_seconds',
    'From asking a source to its answer, per attempt.',
    ['source'],
    FIRST_BYTE_BUCKETS,
  );
  readonly #retries = this.#counter(
    'streamgate_source_retries_total',
    'Source attempts repeated before the first byte.',
    ['source'],
  );
  readonly #resumes = this.#counter(
    'streamgate_source_resumes_total',
    'Bodies reopened after breaking mid-stream.',
    ['source'],
  );
  readonly #errors = this.#counter(
    'streamgate_source_errors_total',
    'Failed source attempts, by failure.',
    ['source', 'failure'],
  );
  readonly #parts = this.#counter(
    'streamgate_parts_fetched_total',
    'Parts of parallel ranged downloads sent whole.',
    ['source'],
  );
  readonly #coalesced = this.#counter(
    'streamgate_coalesced_requests_total',
    'Requests that joined a source read already in flight instead of opening their own.',
    ['source'],
  );
  readonly #cache = this.#counter(
    'streamgate_cache_requests_total',
    'Small-object cache lookups, by result (hit, miss, revalidated, replaced).',
    ['source', 'result'],
  );
  readonly #routes = new Map<string, RouteChildren>();
  readonly #sources = new Map<string, SourceChildren>();

  constructor() {
    // Exported from the start, so that a rate() over them has a first sample.
    this.#inFlight.set(0);
  }

  streamStarted(): void {
    this.#inFlight.inc();
  }

  streamEnded(message: StreamEndMessage): void {
    this.#inFlight.dec();
    this.#route(message.scope.route).streams(message.outcome).inc();
    const source = this.#source(message.scope.source);
    source.bytes.inc(message.bytesFromSource);
    if (message.resumes > 0) source.resumes.inc(message.resumes);
  }

  sourceAttempted(message: SourceAttemptMessage): void {
    const source = this.#source(message.scope.source);
    source.firstByte.observe(message.firstByteMs / 1000);
    if (message.attempt > 1) source.retries.inc();
    if (attemptFailed(message.outcome)) source.errors(message.outcome).inc();
  }

  partFetched(source: string | undefined): void {
    this.#parts.inc({ source: source ?? '' });
  }

  readJoined(source: string): void {
    this.#coalesced.inc({ source });
  }

  cacheLookedUp(source: string, result: string): void {
    this.#cache.inc({ source, result });
  }

  requestFinished(request: FinishedRequest): void {
    const route = this.#route(request.route);
    route.requests(request.method, request.status).inc();
    route.duration.observe(request.durationSeconds);
    if (request.bytesToClient > 0) route.responseBytes.inc(request.bytesToClient);
  }

  #counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  #histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  #route(route: string): RouteChildren {
    let children = this.#routes.get(route);
    if (children === undefined) {
      const labels = { route };
      children = {
        duration: this.#duration.labels(labels),
        responseBytes: this.#responseBytes.labels(labels),
        requests: memo((method: string, status: number) =>
          this.#requests.labels({ route, method, status: String(status) }),
        ),
        streams: memo((outcome: string) => this.#streams.labels({ route, outcome })),
      };
      this.#routes.set(route, children);
    }
    return children;
  }

  #source(source: string): SourceChildren {
    let children = this.#sources.get(source);
    if (children === undefined) {
      const labels = { source };
      children = {
        bytes: this.#sourceBytes.labels(labels),
        firstByte: this.#firstByte.labels(labels),
        retries: this.#retries.labels(labels),
        resumes: this.#resumes.labels(labels),
        errors: memo((failure: string) => this.#errors.labels({ source, failure })),
      };
      this.#sources.set(source, children);
    }
    return children;
  }
}

interface RouteChildren {
  duration: Histogram.Internal<'route'>;
  responseBytes: Counter.Internal;
  requests: (method: string, status: number) => Counter.Internal;
  streams: (outcome: string) => Counter.Internal;
}

interface SourceChildren {
  bytes: Counter.Internal;
  firstByte: Histogram.Internal<'source'>;
  retries: Counter.Internal;
  resumes: Counter.Internal;
  errors: (failure: string) => Counter.Internal;
}

/** `make` called once per distinct arguments; they are few (methods, statuses, outcomes). */
function memo<A extends (string | number)[], T>(make: (...args: A) => T): (...args: A) => T {
  const made = new Map<string, T>();
  return (...args) => {
    const key = args.join(' ');
    let value = made.get(key);
    if (value === undefined) {
      value = make(...args);
      made.set(key, value);
    }
    return value;
  };
}
