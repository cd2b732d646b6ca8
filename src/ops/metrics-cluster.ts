import { AggregatorRegistry, type Registry } from 'prom-client';
import {
  ANSWER,
  ANSWER_TIMEOUT_MS,
  type Answer,
  ASK,
  type Ask,
  COLLECT,
  type Collect,
  isMessage,
  READY,
  REPORT,
  type Ready,
  type Report,
} from './metrics-primary.js';

/**
 * Metrics summed over every worker of a cluster. The primary does not listen on the HTTP port,
 * so a scrape lands on one worker, which asks the primary over IPC; the primary asks every
 * ready worker for its registries' metrics (over cluster IPC too), sums them with prom-client's
 * AggregatorRegistry and sends the text back.
 */

/** The primary could not gather the workers' metrics (a worker did not answer in time). */
export class ClusterMetricsError extends Error {
  constructor(reason: string) {
    super(`cluster metrics unavailable: ${reason}`);
    this.name = 'ClusterMetricsError';
  }
}

/**
 * Called once in each worker: the registries this worker reports when the primary gathers. The
 * primary asks a worker only once it has said it is ready, here.
 */
export function reportToPrimary(registries: Registry[]): void {
  process.on('message', (message: unknown) => {
    if (isMessage<Collect>(message, COLLECT)) report(registries, message.id);
  });
  process.send?.({ type: READY } satisfies Ready);
}

function report(registries: Registry[], id: number): void {
  Promise.all(registries.map((registry) => registry.getMetricsAsJSON())).then(
    (metrics) => answerPrimary({ type: REPORT, id, metrics: metrics.flat(), error: undefined }),
    (error: unknown) =>
      answerPrimary({
        type: REPORT,
        id,
        metrics: undefined,
        error: error instanceof Error ? error.message : String(error),
      }),
  );
}

function answerPrimary(report: Report): void {
  process.send?.(report);
}

let asked = 0;

/** In a worker: the whole cluster's metrics, in Prometheus text, gathered by the primary. */
export function clusterMetrics(): Promise<string> {
  const id = asked++;
  const send = process.send?.bind(process);
  if (send === undefined) return Promise.reject(new ClusterMetricsError('no primary to ask'));
  return new Promise((resolve, reject) => {
    const done = (outcome: () => void) => {
      clearTimeout(timer);
      process.off('message', onMessage);
      outcome();
    };
    const onMessage = (message: unknown) => {
      if (!isMessage<Answer>(message, ANSWER) || message.id !== id) return;
      const { text, error } = message;
      done(() =>
        text === undefined ? reject(new ClusterMetricsError(error ?? '')) : resolve(text),
      );
    };
    const timer = setTimeout(
      () => done(() => reject(new ClusterMetricsError('the primary did not answer'))),
      ANSWER_TIMEOUT_MS,
    );
    process.on('message', onMessage);
    send({ type: ASK, id } satisfies Ask);
  });
}

/** The content type of the text both kinds of registry produce. */
export const METRICS_CONTENT_TYPE = AggregatorRegistry.PROMETHEUS_CONTENT_TYPE;
