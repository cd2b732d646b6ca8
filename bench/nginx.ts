/**
 * nginx in the bench, both as an origin (static files at /{bucket}/{key}, which answers a
 * path-style S3 GET or HEAD with ETag, Last-Modified and Range) and as the reference proxy
 * (proxy_pass, buffered, keep-alive upstream). Each instance runs in the foreground from its
 * own directory: conf, pid, logs and temp files never leave it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Child, freePort, startChild, waitForHttp } from './children.js';

const CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'];

function findNginx(): string | undefined {
  return CANDIDATES.find((candidate) => existsSync(candidate));
}

/**
 * The nginx binary, installing Debian's nginx-light with scripts/lib/apt.sh when it is missing;
 * undefined (with the reason on stderr) when that is impossible.
 */
export function ensureNginx(): string | undefined {
  const found = findNginx();
  if (found) return found;
  process.stderr.write('nginx not found: installing nginx-light\n');
  try {
    execFileSync(
      'bash',
      ['-c', 'log() { echo "$*" >&2; }; source scripts/lib/apt.sh; install_missing nginx-light'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  } catch {
    process.stderr.write('nginx-light could not be installed\n');
  }
  return findNginx();
}

/** A running nginx: its URL and its master process (the root of its process tree). */
export interface Nginx {
  baseUrl: string;
  child: Child;
}

/** What one nginx instance serves: a location block, and any http-level blocks it needs. */
export interface NginxSite {
  location: string;
  http?: string;
}

function conf(directory: string, workers: number, port: number, site: NginxSite): string {
  const temp = (name: string) => `${name}_temp_path ${path.join(directory, 'temp', name)};`;
  return `daemon off;
master_process on;
worker_processes ${workers};
pid ${path.join(directory, 'nginx.pid')};
error_log ${path.join(directory, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
${site.http ?? ''}
  server {
    listen 127.0.0.1:${port};
${site.location}
  }
}
`;
}

/** Serves `root` as static files: /{bucket}/{key} is the file root/bucket/key. */
export function originSite(root: string): NginxSite {
  return { location: `    root ${root};\n    location / { }` };
}

/** Relays every request to `upstream` (host:port), buffered, over keep-alive connections. */
export function proxySite(upstream: string): NginxSite {
  return {
    http: `  upstream origin {\n    server ${upstream};\n    keepalive 64;\n  }`,
    location: `    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host ${upstream};
      proxy_buffering on;
    }`,
  };
}

/** Starts nginx from `directory` (conf, pid, logs, temp files) on a free port of 127.0.0.1. */
export async function startNginx(
  binary: string,
  directory: string,
  workers: number,
  site: NginxSite,
): Promise<Nginx> {
  await mkdir(path.join(directory, 'temp'), { recursive: true });
  const port = await freePort();
  const file = path.join(directory, 'nginx.conf');
  await writeFile(file, conf(directory, workers, port, site));
  const log = path.join(directory, 'error.log');
  const child = startChild(binary, ['-p', directory, '-c', file, '-e', log]);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/`, child);
  return { baseUrl, child };
}
