import { createHash } from 'node:crypto';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, patternSha256 } from '../dev/pattern.js';
import type { CoalesceEvent } from '../src/stream/coalesce.js';
import { sequence } from './helpers/fault-proxy.js';
import { FaultStack } from './helpers/fault-stack.js';
import { download, waitFor } from './helpers/http-client.js';
import { recordChannel } from './helpers/observe.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const SIZE = 4 * MIB;
const WHOLE = patternSha256(0, SIZE);
const KEY_PATH = '/images/test/1/image.jpg';

let stack: FaultStack;
const events = recordChannel('streamgate:coalesce', (message) => message as CoalesceEvent);

beforeAll(async () => {
  stack = await FaultStack.start();
  await stack.s3.put('images', 'test/1/image.jpg', patternBytes(0, SIZE));
});

afterEach(() => stack.reset());

afterAll(() => stack?.stop());

/** Holds the first GET's answer after `afterBytes` until `ms` pass: a slow origin. */
function slowFirstGet(afterBytes: number, ms?: number): void {
  stack.s3Proxy.rule = sequence([{ type: 'stall', afterBytes, ...(ms !== undefined && { ms }) }]);
}

/** Starts `count` downloads of the image once the first one's source read is in flight. */
async function crowd(url: string, count: number, options: Parameters<typeof download>[1] = {}) {
  const leader = download(`${url}/tasks/1/image`, options);
  await waitFor(() => stack.s3Proxy.stalled === 1, 'the first source read to stall');
  const followers = Array.from({ length: count - 1 }, () =>
    download(`${url}/tasks/1/image`, options),
  );
  return { leader, followers };
}

interface PausedDownload {
  /** Resolves once `first` bytes arrived and the client stopped reading. */
  paused: Promise<void>;
  /** Resolves when the response closed, however it ended. */
  done: Promise<{ sha256: string; complete: boolean }>;
  received(): number;
  resume(): void;
  /** Tears the connection down, as a client that leaves. */
  abort(): void;
}

/** A client that reads `first` bytes, then stops reading until `resume()` is called. */
function pausingDownload(url: string, first: number): PausedDownload {
  let received = 0;
  let response: http.IncomingMessage | undefined;
  let request: http.ClientRequest | undefined;
  let pausedAt = () => {};
  const paused = new Promise<void>((resolve) => {
    pausedAt = resolve;
  });
  const done = new Promise<{ sha256: string; complete: boolean }>((resolve, reject) => {
    request = http.get(url, { agent: false }, (answer) => {
      response = answer;
      const hash = createHash('sha256');
      answer.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        if (received >= first && received - chunk.length < first) {
          answer.pause();
          pausedAt();
        }
      });
      answer.once('error', () => {});
      answer.once('close', () =>
        resolve({ sha256: hash.digest('hex'), complete: answer.complete }),
      );
    });
    request.once('error', reject);
  });
  return {
    paused,
    done,
    received: () => received,
    resume: () => response?.resume(),
    abort: () => request?.destroy(),
  };
}

describe('concurrent GETs of one object share one source read', () => {
  it('100 requests for a cold 4 MiB object behind a slow origin: at most 3 source GETs, identical bodies', async () => {
    const { url } = await stack.gateway({});
    slowFirstGet(256 * KIB, 1_500);

    const { leader, followers } = await crowd(url, 100);
    const got = await Promise.all([leader, ...followers]);

    for (const one of got) {
      expect(one.status).toBe(200);
      expect(one.headers['content-length']).toBe(String(SIZE));
      expect(one.complete).toBe(true);
      expect(one.sha256).toBe(WHOLE);
    }
    expect(new Set(got.map((one) => one.headers.etag)).size).toBe(1);
    const gets = stack.s3Proxy.gets(KEY_PATH).length;
    expect(gets).toBeGreaterThanOrEqual(1);
    expect(gets).toBeLessThanOrEqual(3);
    const leaders = events.filter((event) => event.role === 'leader');
    expect(leaders).toHaveLength(gets);
    expect(events.filter((event) => event.role === 'follower')).toHaveLength(100 - gets);
    expect(events.every((event) => event.source === 'storage')).toBe(true);
  });

  it('followers that abort mid-body do not disturb the others', async () => {
    const { url } = await stack.gateway({});
    slowFirstGet(MIB, 800);

    const { leader, followers } = await crowd(url, 10);
    const leaving = Array.from({ length: 10 }, () =>
      download(`${url}/tasks/1/image`, { abortAfterBytes: 300 * KIB }),
    );
    const [stayed, left] = await Promise.all([
      Promise.all([leader, ...followers]),
      Promise.all(leaving),
    ]);

    for (const one of left) expect(one.complete).toBe(false);
    for (const one of stayed) {
      expect(one.complete).toBe(true);
      expect(one.sha256).toBe(WHOLE);
    }
    expect(stack.s3Proxy.gets(KEY_PATH)).toHaveLength(1);
  });

  it('a slow follower does not slow a fast one: the fast one completes while the slow one is still reading', async () => {
    const { url } = await stack.gateway({});
    slowFirstGet(64 * KIB, 300);
    const slow = pausingDownload(`${url}/tasks/1/image`, 64 * KIB);
    await waitFor(() => stack.s3Proxy.stalled === 1, 'the source read to stall');

    const fast = await download(`${url}/tasks/1/image`);
    await slow.paused;

    expect(fast.complete).toBe(true);
    expect(fast.sha256).toBe(WHOLE);
    expect(slow.received()).toBeLessThan(SIZE);
    slow.resume();
    const late = await slow.done;
    expect(late.complete).toBe(true);
    expect(late.sha256).toBe(WHOLE);
    expect(stack.s3Proxy.gets(KEY_PATH)).toHaveLength(1);
  });

  it('when every member leaves, the source read is aborted', async () => {
    const { url } = await stack.gateway({});
    slowFirstGet(MIB);
    const clients = [pausingDownload(`${url}/tasks/1/image`, 64 * KIB)];
    await waitFor(() => stack.s3Proxy.stalled === 1, 'the source read to stall');
    for (let i = 0; i < 4; i++) clients.push(pausingDownload(`${url}/tasks/1/image`, 64 * KIB));
    await Promise.all(clients.map((client) => client.paused));

    for (const client of clients) client.abort();
    const left = await Promise.all(clients.map((client) => client.done));

    for (const one of left) expect(one.complete).toBe(false);
    await waitFor(() => stack.s3Proxy.stalled === 0, 'the stalled source read to be closed');
    const after = await download(`${url}/tasks/1/image`);
    expect(after.sha256).toBe(WHOLE);
    expect(stack.s3Proxy.gets(KEY_PATH)).toHaveLength(2);
  });

  it('ranged GETs with the same range share a read after their decision', async () => {
    const { url } = await stack.gateway({});
    slowFirstGet(64 * KIB, 500);
    const [from, to] = [1_000, 2 * MIB + 7];

    const { leader, followers } = await crowd(url, 10, {
      headers: { range: `bytes=${from}-${to}` },
    });
    const got = await Promise.all([leader, ...followers]);

    for (const one of got) {
      expect(one.status).toBe(206);
      expect(one.headers['content-range']).toBe(`bytes ${from}-${to}/${SIZE}`);
      expect(one.sha256).toBe(patternSha256(from, to + 1));
    }
    const gets = stack.s3Proxy.gets(KEY_PATH);
    expect(gets).toHaveLength(1);
    expect(gets[0]?.headers.range).toBe(`bytes=${from}-${to}`);
  });

  it('a failure before the first byte reaches every member once: no stampede of retries', async () => {
    const { url } = await stack.gateway({ FIRST_BYTE_TIMEOUT_MS: '400', RETRY_ATTEMPTS: '0' });
    slowFirstGet(0);

    const { leader, followers } = await crowd(url, 10);
    const got = await Promise.all([leader, ...followers]);

    for (const one of got) {
      expect(one.status).toBe(504);
      expect(one.json).toEqual({ detail: 'Storage did not answer in time' });
    }
    expect(stack.s3Proxy.gets(KEY_PATH)).toHaveLength(1);
  });

  it('a break mid-body is resumed once for all members', async () => {
    const { url } = await stack.gateway({ IDLE_TIMEOUT_MS: '300' });
    slowFirstGet(MIB);

    const { leader, followers } = await crowd(url, 10);
    const got = await Promise.all([leader, ...followers]);

    for (const one of got) {
      expect(one.complete).toBe(true);
      expect(one.sha256).toBe(WHOLE);
    }
    const gets = stack.s3Proxy.gets(KEY_PATH);
    expect(gets).toHaveLength(2);
    expect(gets[1]?.headers.range).toMatch(/^bytes=\d+-4194303$/);
  });

  it('a break that cannot be resumed aborts every member', async () => {
    const { url } = await stack.gateway({ IDLE_TIMEOUT_MS: '300', RESUME_ATTEMPTS: '0' });
    slowFirstGet(MIB);

    const { leader, followers } = await crowd(url, 5);
    const got = await Promise.all([leader, ...followers]);

    for (const one of got) {
      expect(one.status).toBe(200);
      expect(one.complete).toBe(false);
      expect(one.length).toBeLessThan(SIZE);
    }
    expect(stack.s3Proxy.gets(KEY_PATH)).toHaveLength(1);
  });

  it.each([
    ['COALESCE_MAX_BYTES=0 turns it off', '0'],
    ['an object above COALESCE_MAX_BYTES is not shared', String(MIB)],
  ])('%s', async (_name, max) => {
    const { url } = await stack.gateway({ COALESCE_MAX_BYTES: max });
    slowFirstGet(64 * KIB, 300);

    const { leader, followers } = await crowd(url, 4);
    const got = await Promise.all([leader, ...followers]);

    for (const one of got) expect(one.sha256).toBe(WHOLE);
    expect(stack.s3Proxy.gets(KEY_PATH)).toHaveLength(4);
    expect(events).toEqual([]);
  });
});
