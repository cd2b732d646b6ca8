/**
 * Compiles the bench's own servers (bare proxies, TCP relay, naive port, throttling proxy) to
 * plain JavaScript, so that no TypeScript loader sits in the memory and CPU the bench measures
 * for them.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const SERVERS = [
  'bare-proxy.ts',
  'fastify-proxy.ts',
  'tcp-relay.ts',
  'naive.ts',
  'throttle-proxy.ts',
];

/** Writes each of SERVERS as JavaScript (and what they import) to `outDir`. */
export function buildBenchServers(outDir: string): void {
  execFileSync(
    process.execPath,
    [
      'node_modules/typescript/bin/tsc',
      ...SERVERS.map((file) => path.join('bench', file)),
      ...['--outDir', outDir, '--rootDir', 'bench', '--target', 'ES2023'],
      ...['--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node'],
      ...['--skipLibCheck', '--esModuleInterop'],
    ],
    { stdio: 'inherit' },
  );
}
