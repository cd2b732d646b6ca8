/**
 * Runs `serve` in WORKERS processes with node:cluster (the primary only hands out connections),
 * or in this process when WORKERS is 1, the same shape as a multi-worker gateway.
 */
import cluster from 'node:cluster';

export function runWorkers(serve: () => void): void {
  const workers = Number(process.env.WORKERS ?? 1);
  if (workers <= 1 || !cluster.isPrimary) {
    serve();
    return;
  }
  for (let i = 0; i < workers; i++) cluster.fork();
  process.once('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
}
