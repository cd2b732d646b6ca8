/**
 * Child processes of the bench: each runs in its own process group so that stopping it stops
 * its workers too, and every one still running is killed when the bench exits, on every path
 * (normal end, error, SIGINT).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

const running = new Set<ChildProcess>();
const STOP_GRACE_MS = 10_000;

function signal(target: number, name: NodeJS.Signals): void {
  try {
    process.kill(target, name);
  } catch {
    // already gone
  }
}

// Last resort for paths that skip the orderly stop (an uncaught error, process.exit).
process.on('exit', () => {
  for (const child of running) if (child.pid !== undefined) signal(-child.pid, 'SIGKILL');
});

/** A process started by the bench, owned until `stop()`. */
export interface Child {
  pid: number;
  /** Last lines of its stderr, for error messages. */
  stderrTail(): string;
  hasExited(): boolean;
  stop(): Promise<void>;
}

/** Spawns a command in its own process group; stdout is ignored, stderr kept for diagnosis. */
export function startChild(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.once('close', () => running.delete(child));
  return {
    pid: child.pid,
    stderrTail: () => stderr.trim(),
    hasExited: () => !running.has(child),
    // SIGTERM to the leader (a cluster primary or nginx master stops its own workers), then
    // SIGKILL to whatever of its group is left, at once or after the grace period.
    async stop() {
      const pid = child.pid as number;
      if (running.has(child)) signal(pid, 'SIGTERM');
      await Promise.race([exited, sleep(STOP_GRACE_MS, undefined, { ref: false })]);
      signal(-pid, 'SIGKILL');
      await exited;
    },
  };
}

/** A port of 127.0.0.1 that was free a moment ago (for children that cannot report theirs). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Polls `url` with GET (a presigned URL is valid for GET only) until its status is accepted (by
 * default: anything below 500), or fails with the child's stderr when it exits or time runs out.
 */
export async function waitForHttp(
  url: string,
  child: Child,
  {
    timeoutMs = 30_000,
    accept = (status: number) => status < 500,
    headers = {} as Record<string, string>,
  } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !child.hasExited()) {
    try {
      const { statusCode, body } = await request(url, { headers });
      await body.dump();
      if (accept(statusCode)) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  const why = child.hasExited() ? 'exited' : `did not answer within ${timeoutMs} ms`;
  throw new Error(`${url}: ${why}\n${child.stderrTail()}`);
}
