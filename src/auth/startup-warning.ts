import { isIP } from 'node:net';
import { accessControlEnabled } from './access-check.js';
import type { AccessSettings } from './settings.js';

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** The part of a logger the warning needs (Fastify's `app.log` is one). */
export interface WarningLog {
  warn(details: object, message: string): void;
}

/** Warns once, at start-up, when the tasks routes are open to a network beyond this machine. */
export function warnIfOpenToNetwork(log: WarningLog, host: string, access: AccessSettings): void {
  if (isLoopback(host) || accessControlEnabled(access)) return;
  log.warn(
    { host },
    'listening beyond loopback with no access control: set API_KEYS, a JWT key or SIGNED_URL_KEYS',
  );
}
