import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { warnIfOpenToNetwork } from './auth/startup-warning.js';
import { connectionsCut } from './plugins/observability.js';
import type { Settings } from './settings.js';
import { growHeapForServing } from './v8-flags.js';

export interface ServeOptions {
  /**
   * Whether a second SIGTERM/SIGINT exits at once. A cluster worker leaves that to its primary:
   * Ctrl-C in a terminal reaches every process of the group while the primary also passes the
   * signal on, so a worker can see two signals for one.
   */
  secondSignalExits: boolean;
}

/**
 * Builds the app and listens on HOST:PORT in this process; in a cluster worker the primary
 * shares that port. SIGTERM/SIGINT drain it: stop accepting, let downloads in flight finish, and
 * after the grace period cut whatever is still open, then exit 0. A listen failure (port in use)
 * prints one line and exits 1.
 */
export async function serve(settings: Settings, options: ServeOptions): Promise<void> {
  const app = buildApp(settings);
  let draining = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining && options.secondSignalExits) {
      app.log.warn({ signal }, 'second signal: exiting without waiting for downloads');
      process.exit(1);
    }
    if (draining) return;
    draining = true;
    drain(app, settings.shutdownGraceMs, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await app.listen({ host: settings.host, port: settings.port });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `streamgate: cannot listen on ${settings.host}:${settings.port}: ${reason}\n`,
    );
    process.exit(1);
  }
  // After start-up, which runs at V8's default factor (v8-flags.ts).
  growHeapForServing();
  warnIfOpenToNetwork(app.log, settings.host, settings.access);
}

function drain(app: FastifyInstance, graceMs: number, signal: NodeJS.Signals): void {
  app.log.info({ signal }, 'shutting down: draining downloads in flight');
  const deadline = setTimeout(() => {
    app.log.warn('grace period over: closing the connections still open');
    connectionsCut.publish(undefined);
    app.server.closeAllConnections();
  }, graceMs);
  deadline.unref();
  // Connections that fall idle while draining are closed by the streamgate plugin's sweep
  // (plugins/idle-sweep.ts), so a finished keep-alive client does not hold the exit.
  app.close().then(
    () => process.exit(0),
    (error: unknown) => {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
}
