#!/usr/bin/env node
import cluster from 'node:cluster';
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

// Imported only where they run: a cluster primary never loads the app (Fastify, the SDKs), so
// it stays small.
const settings = settingsOrExit();
if (settings.workers === 1) {
  const { serve } = await import('./server.js');
  await serve(settings, { secondSignalExits: true });
} else if (cluster.isPrimary) {
  const { supervise } = await import('./cluster.js');
  supervise(settings);
} else {
  const { serve } = await import('./server.js');
  await serve(settings, { secondSignalExits: false });
}
