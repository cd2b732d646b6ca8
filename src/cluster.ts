import cluster, { type Worker } from 'node:cluster';
import { serveClusterMetrics } from './ops/metrics-primary.js';
import { PrimaryLog } from './primary-log.js';
import type { Settings } from './settings.js';
import { workerExecArgv } from './v8-flags.js';

/** Unexpected worker deaths are counted over this window to tell a crash loop from bad luck. */
const CRASH_WINDOW_MS = 10_000;
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
/** Workers cut their own downloads at the grace period; this covers their exit after that. */
const EXIT_MARGIN_MS = 5_000;

type Phase = 'starting' | 'running' | 'stopping';

/**
 * Runs the cluster primary: forks `settings.workers` workers that share HOST:PORT, replaces one
 * that dies unexpectedly (backing off when they die faster than one per worker per window), and
 * drains them all on SIGTERM/SIGINT. The first worker starts alone, so that a start-up failure
 * (port in use) prints its one line once and the primary exits 1 instead of re-forking.
 */
export function supervise(settings: Settings): void {
  new Supervisor(settings, new PrimaryLog(settings.logLevel)).start();
}

class Supervisor {
  private phase: Phase = 'starting';
  private crashes: number[] = [];
  private backoffMs = 0;
  private allExitedCleanly = true;
  /** Own count: `cluster.workers` keeps a dead worker until its IPC channel closes too. */
  private readonly live = new Set<Worker>();
  private readonly serving = new WeakSet<Worker>();

  constructor(
    private readonly settings: Settings,
    private readonly log: PrimaryLog,
  ) {}

  start(): void {
    // Each worker accepts from the shared socket itself. With round-robin the primary accepts and
    // passes connections on, and one handed to the last worker just as it stops listening is
    // stranded (Node 20 queues it on the closed handle), so shutdown would hang it instead of
    // refusing it. The kernel's accept spreads connections over idle workers well enough here.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
    // A scrape of /metrics on any worker is answered with the sum over all of them.
    serveClusterMetrics();
    cluster.on('listening', (worker) => this.onListening(worker));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    process.on('SIGTERM', (signal) => this.shutdown(signal));
    process.on('SIGINT', (signal) => this.shutdown(signal));
    this.fork();
  }

  private fork(): void {
    const worker = cluster.fork();
    this.live.add(worker);
    this.log.info('worker started', { worker: worker.id, workerPid: worker.process.pid });
  }

  private onListening(worker: Worker): void {
    this.serving.add(worker);
    if (this.phase !== 'starting') return;
    this.phase = 'running';
    for (let i = 1; i < this.settings.workers; i++) this.fork();
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.live.delete(worker);
    const fields = { worker: worker.id, workerPid: worker.process.pid, code, signal };
    if (this.phase === 'starting') {
      // The worker has printed why it could not start; forking again would fail the same way.
      process.exit(code || 1);
    }
    if (this.phase === 'stopping') {
      // One still starting has no handler yet, so the SIGTERM that drains the others kills it.
      const stoppedBeforeServing = !this.serving.has(worker) && signal === 'SIGTERM';
      this.allExitedCleanly &&= code === 0 || stoppedBeforeServing;
      this.log.info('worker exited', fields);
      this.exitWhenNoWorkers();
      return;
    }
    this.log.error('worker died unexpectedly: replacing it', fields);
    this.replace();
  }

  private replace(): void {
    const now = Date.now();
    this.crashes = [...this.crashes.filter((at) => now - at < CRASH_WINDOW_MS), now];
    if (this.crashes.length <= this.settings.workers) {
      this.backoffMs = 0;
      this.fork();
      return;
    }
    this.backoffMs = Math.min(Math.max(FIRST_BACKOFF_MS, this.backoffMs * 2), MAX_BACKOFF_MS);
    this.log.warn('workers are crashing repeatedly: waiting before replacing', {
      crashes: this.crashes.length,
      windowMs: CRASH_WINDOW_MS,
      delayMs: this.backoffMs,
    });
    // Several deaths in one burst each schedule their own replacement.
    setTimeout(() => this.phase === 'running' && this.fork(), this.backoffMs);
  }

  private shutdown(signal: NodeJS.Signals): void {
    if (this.phase === 'stopping') {
      this.log.warn('second signal: killing the workers without waiting for downloads', {
        signal,
        workers: this.live.size,
      });
      for (const worker of this.live) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    this.phase = 'stopping';
    this.log.info('shutting down: draining workers', { signal, workers: this.live.size });
    for (const worker of this.live) worker.process.kill('SIGTERM');
    setTimeout(() => {
      this.log.error('workers still running after the grace period: killing them');
      for (const worker of this.live) worker.process.kill('SIGKILL');
      process.exit(1);
    }, this.settings.shutdownGraceMs + EXIT_MARGIN_MS).unref();
    this.exitWhenNoWorkers();
  }

  private exitWhenNoWorkers(): void {
    if (this.live.size === 0) process.exit(this.allExitedCleanly ? 0 : 1);
  }
}
