import { hostname } from 'node:os';
import type { LogLevel } from './settings.js';

/** pino's numbers for the levels LOG_LEVEL takes, every one of them (settings.ts checks it). */
const THRESHOLDS: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};
const INFO = 30;
const WARN = 40;
const ERROR = 50;

export type LogFields = Record<string, unknown>;

/**
 * The cluster primary's log: the same JSON lines as pino's (`level`, `time`, `pid`, `hostname`,
 * the fields, `msg`), written at once, for the few lines the primary logs. pino itself, with its
 * transports and worker threads, would cost the primary more memory than all its own work.
 */
export class PrimaryLog {
  readonly #threshold: number;
  readonly #base: { pid: number; hostname: string };

  constructor(level: LogLevel) {
    this.#threshold = THRESHOLDS[level];
    this.#base = { pid: process.pid, hostname: hostname() };
  }

  info(msg: string, fields: LogFields = {}): void {
    this.#write(INFO, msg, fields);
  }

  warn(msg: string, fields: LogFields = {}): void {
    this.#write(WARN, msg, fields);
  }

  error(msg: string, fields: LogFields = {}): void {
    this.#write(ERROR, msg, fields);
  }

  #write(level: number, msg: string, fields: LogFields): void {
    if (level < this.#threshold) return;
    // Synchronous for files and pipes on Linux, so a line logged just before process.exit() is out.
    process.stdout.write(
      `${JSON.stringify({ level, time: Date.now(), ...this.#base, ...fields, msg })}\n`,
    );
  }
}
