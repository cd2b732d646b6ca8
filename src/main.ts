#!/usr/bin/env node
import { buildApp } from './app.js';
import { loadSettings, SettingsError } from './settings.js';

function settingsOrExit() {
  try {
    return loadSettings();
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`streamgate: ${error.message}\n`);
    process.exit(1);
  }
}

const settings = settingsOrExit();
const app = buildApp(settings);
await app.listen({ host: settings.host, port: settings.port });

/**
 * Graceful shutdown: stop accepting, let downloads in flight finish, and after the grace period
 * cut whatever is still open. A second signal exits at once.
 */
let stopping = false;
function shutdown(signal: NodeJS.Signals): void {
  if (stopping) process.exit(1);
  stopping = true;
  app.log.info({ signal }, 'shutting down: draining downloads in flight');
  const deadline = setTimeout(() => {
    app.log.warn('grace period over: closing the connections still open');
    app.server.closeAllConnections();
  }, settings.shutdownGraceMs);
  deadline.unref();
  // Node closes idle keep-alive connections once, when the server closes; one whose download
  // ends later would hold the process until its keep-alive timeout, so sweep while draining.
  setInterval(() => app.server.closeIdleConnections(), 100).unref();
  app.close().then(
    () => process.exit(0),
    (error: unknown) => {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
