import cluster from 'node:cluster';
import type { AggregatorRegistry, PrometheusContentType } from 'prom-client';

/**
 * The primary's side of the cluster's metrics (the worker's is metrics-cluster.ts), and the
 * messages between them. Kept apart so that the primary loads prom-client only once a worker
 * is first scraped.
 */

export const ASK = 'streamgate:metrics:ask';
export const ANSWER = 'streamgate:metrics:answer';
/** Above AggregatorRegistry's own 5 s, so that its timeout is the one reported. */
export const ANSWER_TIMEOUT_MS = 6_000;

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

/** A message of `type` from the other side of the IPC channel; its `type` and `id` are checked. */
export function isMessage<M extends Ask | Answer>(message: unknown, type: M['type']): message is M {
  return (
    typeof message === 'object' &&
    message !== null &&
    'type' in message &&
    message.type === type &&
    'id' in message &&
    typeof message.id === 'number'
  );
}

/**
 * Called once by the cluster primary: answers the workers' requests for the whole cluster's
 * metrics. Without it a worker's `/metrics` answers 503.
 */
export function serveClusterMetrics(): void {
  let aggregator: Promise<AggregatorRegistry<PrometheusContentType>> | undefined;
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<Ask>(message, ASK)) return;
    const reply = (text: string | undefined, error: string | undefined) => {
      const answer: Answer = { type: ANSWER, id: message.id, text, error };
      if (worker.isConnected()) worker.send(answer);
    };
    aggregator ??= import('prom-client').then((prom) => new prom.AggregatorRegistry());
    aggregator
      .then((registry) => registry.clusterMetrics())
      .then(
        (text) => reply(text, undefined),
        (error: unknown) =>
          reply(undefined, error instanceof Error ? error.message : String(error)),
      );
  });
}
