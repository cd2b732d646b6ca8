import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** One JSON line of pino output. */
export type LogLine = Record<string, unknown> & { pid: number; msg: string };

export interface RunningMain {
  child: ChildProcess;
  /** From the first "Server listening at" line. */
  url: string;
  exited: Promise<number | null>;
  /** Resolves with the first log line, past or future, that `match` accepts. */
  waitForLog(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** Every log line so far. */
  logs(): LogLine[];
  stderr(): string;
}

const running: ChildProcess[] = [];

/** Kills (SIGKILL) every process `startMain` started that is still running. */
export function killAllMains(): void {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
}

/**
 * Runs the real entry point (src/main.ts through tsx) on 127.0.0.1 with the given environment,
 * and resolves once one server listens (in a cluster every worker shares that port).
 */
export async function startMain(env: Record<string, string>): Promise<RunningMain> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'debug',
      STORAGE_BACKEND: 'fs',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    for (const text of complete) {
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      for (const waiter of waiters) waiter(line);
    }
  });

  function waitForLog(
    match: (line: LogLine) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<LogLine> {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = (line: LogLine): void => {
        if (!match(line)) return;
        settle();
        resolve(line);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`no log line (${what}) within ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      waiters.add(waiter);
      exited.then((code) => {
        settle();
        reject(new Error(`main exited (${code}) before logging ${what}: ${stderr}`));
      });
    });
  }

  const listening = await waitForLog(
    (line) => line.msg.startsWith('Server listening at'),
    'listening',
  );
  const url = /http:\/\/127\.0\.0\.1:\d+/.exec(listening.msg)?.[0];
  if (url === undefined) throw new Error(`unexpected listening line: ${listening.msg}`);
  return { child, url, exited, waitForLog, logs: () => [...lines], stderr: () => stderr };
}

/** The pid of every process that logged "Server listening at", once `count` of them have. */
export async function listeningPids(main: RunningMain, count: number): Promise<number[]> {
  const pids = (): number[] => [
    ...new Set(
      main
        .logs()
        .filter((line) => line.msg.startsWith('Server listening at'))
        .map((line) => line.pid),
    ),
  ];
  await main.waitForLog(() => pids().length >= count, `${count} servers listening`);
  return pids();
}

/** The pid of the worker that logged the request arriving from the client port `remotePort`. */
export async function pidServing(main: RunningMain, remotePort: number): Promise<number> {
  const line = await main.waitForLog((candidate) => {
    const request = candidate.req as { remotePort?: number } | undefined;
    return candidate.msg === 'incoming request' && request?.remotePort === remotePort;
  }, `a request from port ${remotePort}`);
  return line.pid;
}

/** Whether a process with this pid still exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
