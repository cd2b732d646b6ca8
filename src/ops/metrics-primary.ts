import cluster, { type Worker } from 'node:cluster';

/**
 * The primary's side of the cluster's metrics (the worker's is metrics-cluster.ts), and the
 * messages between them. Kept apart so that the primary loads prom-client only once a worker
 * is first scraped.
 */

/** A worker that can report its metrics: it is asked from then on. */
export const READY = 'streamgate:metrics:ready';
/** A worker's scrape, asking for the whole cluster's metrics. */
export const ASK = 'streamgate:metrics:ask';
export const ANSWER = 'streamgate:metrics:answer';
/** The primary asking a worker for its own metrics. */
export const COLLECT = 'streamgate:metrics:collect';
export const REPORT = 'streamgate:metrics:report';
/** How long the primary waits for each worker's report. */
export const COLLECT_TIMEOUT_MS = 5_000;
/** Above COLLECT_TIMEOUT_MS, so that a worker's silence is the failure reported. */
export const ANSWER_TIMEOUT_MS = 6_000;

export interface Ready {
  type: typeof READY;
}

export interface Ask {
  type: typeof ASK;
  id: number;
}

export interface Answer {
  type: typeof ANSWER;
  id: number;
  text: string | undefined;
  error: string | undefined;
}

export interface Collect {
  type: typeof COLLECT;
  id: number;
}

/** One metric of a registry as `getMetricsAsJSON()` gives it (its `help`, `aggregator` too). */
export interface ReportedMetric {
  name: string;
  /** `counter`, `gauge`, `histogram`, `summary` (prom-client's types say an enum). */
  type: unknown;
  values: ReportedSample[];
}

interface ReportedSample {
  value: number;
  labels: object;
  /** A histogram's `_bucket`, `_sum` or `_count`. */
  metricName?: string;
}

export interface Report {
  type: typeof REPORT;
  id: number;
  /** Every metric of the worker's registries. */
  metrics: ReportedMetric[] | undefined;
  error: string | undefined;
}

/** A message of `type` from the other side of the IPC channel; only its `type` is checked. */
export function isMessage<M extends Ready | Ask | Answer | Collect | Report>(
  message: unknown,
  type: M['type'],
): message is M {
  return (
    typeof message === 'object' && message !== null && 'type' in message && message.type === type
  );
}

/**
 * Called once by the cluster primary: answers the workers' requests for the whole cluster's
 * metrics. Without it a worker's `/metrics` answers 503.
 */
export function serveClusterMetrics(): void {
  const metrics = new ClusterMetrics();
  cluster.on('message', (worker, message: unknown) => {
    if (isMessage<Ready>(message, READY)) metrics.ready(worker);
    else if (isMessage<Report>(message, REPORT)) metrics.reported(worker, message);
    else if (isMessage<Ask>(message, ASK)) answer(worker, message.id, metrics.gather());
  });
  cluster.on('exit', (worker) => metrics.retire(worker));
}

function answer(worker: Worker, id: number, gathered: Promise<string>): void {
  const reply = (text: string | undefined, error: string | undefined) => {
    if (worker.isConnected()) worker.send({ type: ANSWER, id, text, error } satisfies Answer);
  };
  gathered.then(
    (text) => reply(text, undefined),
    (error: unknown) => reply(undefined, error instanceof Error ? error.message : String(error)),
  );
}

interface Collecting {
  worker: Worker;
  settle(error?: Error): void;
}

/**
 * The sum of every worker's metrics. Only workers that said they are ready are asked: one still
 * starting would not answer. The counters and histograms of a worker that died are kept, as of
 * its last report, so that the cluster's counters never go down; its gauges (streams in flight)
 * go with it.
 */
class ClusterMetrics {
  /** Each ready worker's last report; empty until its first. */
  readonly #latest = new Map<Worker, ReportedMetric[]>();
  /** The counts of the workers that died, summed. */
  #departed: ReportedMetric[] = [];
  readonly #collecting = new Map<number, Collecting>();
  #collected = 0;

  ready(worker: Worker): void {
    this.#latest.set(worker, []);
  }

  retire(worker: Worker): void {
    const last = this.#latest.get(worker);
    if (last === undefined) return;
    this.#latest.delete(worker);
    this.#departed = summed([...this.#departed, ...last.filter(isCount)]);
    // Its collections end here; a report still on its way is ignored, its counts being in
    // #departed now.
    for (const [id, collecting] of this.#collecting) {
      if (collecting.worker === worker) this.#settle(id);
    }
  }

  reported(worker: Worker, report: Report): void {
    const collecting = this.#collecting.get(report.id);
    if (collecting?.worker !== worker) return;
    if (report.metrics !== undefined) this.#latest.set(worker, report.metrics);
    this.#settle(report.id, report.error === undefined ? undefined : new Error(report.error));
  }

  async gather(): Promise<string> {
    await Promise.all([...this.#latest.keys()].map((worker) => this.#collect(worker)));
    const { AggregatorRegistry } = await import('prom-client');
    // Read after the last await: a worker that died meanwhile is in #departed alone.
    return AggregatorRegistry.aggregate([...this.#latest.values(), this.#departed]).metrics();
  }

  #collect(worker: Worker): Promise<void> {
    const id = this.#collected++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.#settle(id, new Error(`worker ${worker.id} did not report in time`)),
        COLLECT_TIMEOUT_MS,
      );
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      };
      this.#collecting.set(id, { worker, settle });
      // A worker that cannot be sent to has died: its exit settles this.
      worker.send({ type: COLLECT, id } satisfies Collect, () => {});
    });
  }

  #settle(id: number, error?: Error): void {
    const collecting = this.#collecting.get(id);
    this.#collecting.delete(id);
    collecting?.settle(error);
  }
}

/** Counters and histograms (their buckets, sums and counts) only add up. */
function isCount(metric: ReportedMetric): boolean {
  return metric.type === 'counter' || metric.type === 'histogram';
}

/** The metrics of the same name as one, their samples of the same labels added up. */
function summed(metrics: ReportedMetric[]): ReportedMetric[] {
  const byName = new Map<string, ReportedMetric>();
  for (const metric of metrics) {
    const kept = byName.get(metric.name);
    byName.set(
      metric.name,
      kept === undefined ? metric : { ...kept, values: addedUp(kept.values, metric.values) },
    );
  }
  return [...byName.values()];
}

function addedUp(into: ReportedSample[], more: ReportedSample[]): ReportedSample[] {
  const byKey = new Map(into.map((sample) => [sampleKey(sample), sample]));
  for (const sample of more) {
    const key = sampleKey(sample);
    const kept = byKey.get(key);
    byKey.set(key, kept === undefined ? sample : { ...kept, value: kept.value + sample.value });
  }
  return [...byKey.values()];
}

function sampleKey(sample: ReportedSample): string {
  const labels = Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : 1));
  return `${sample.metricName ?? ''} ${JSON.stringify(labels)}`;
}
