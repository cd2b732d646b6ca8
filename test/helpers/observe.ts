import diagnosticsChannel from 'node:diagnostics_channel';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** One sample of a Prometheus text exposition. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (no escapes in label values here). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) {
      labels[pair[1] ?? ''] = pair[2] ?? '';
    }
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`; 0 when none. */
export function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const found = samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match`);
  return found[0]?.value ?? 0;
}

/** Fetches and parses `GET /metrics`. */
export async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** A log destination that keeps every line, for tests to read. */
export class LogCapture extends Writable {
  readonly text: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text.push(chunk.toString('utf8'));
    callback();
  }

  /** Every JSON line written so far. */
  lines(): Record<string, unknown>[] {
    return this.text
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
  }

  /** The access-log lines so far. */
  accessLines(): Record<string, unknown>[] {
    return this.lines().filter((line) => line.msg === 'request completed');
  }
}

/**
 * What `channel` publishes while the calling test file runs, each message as `read` takes it:
 * subscribed before the first test, emptied after each one, unsubscribed after the last.
 */
export function recordChannel<T>(channel: string, read: (message: unknown) => T): T[] {
  const messages: T[] = [];
  const record = (message: unknown) => messages.push(read(message));
  beforeAll(() => diagnosticsChannel.subscribe(channel, record));
  afterEach(() => {
    messages.length = 0;
  });
  afterAll(() => diagnosticsChannel.unsubscribe(channel, record));
  return messages;
}
