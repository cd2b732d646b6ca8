import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, patternSha256 } from '../dev/pattern.js';
import type { CacheEvent } from '../src/read-sharing.js';
import type { SourceAttemptMessage } from '../src/stream/events.js';
import { FaultStack } from './helpers/fault-stack.js';
import { download } from './helpers/http-client.js';
import { recordChannel } from './helpers/observe.js';

const KIB = 1024;
const SIZE = 16 * KIB;
const TTL_MS = 300;
const path = (task: number) => `/images/test/${task}/image.jpg`;
const key = (task: number) => `test/${task}/image.jpg`;

let stack: FaultStack;
const events = recordChannel('streamgate:cache', (message) => (message as CacheEvent).result);
const attempts = recordChannel(
  'streamgate:source:attempt',
  (message) => (message as SourceAttemptMessage).outcome,
);

beforeAll(async () => {
  stack = await FaultStack.start();
});

afterEach(() => stack.reset());

afterAll(() => stack?.stop());

function cachingGateway(env: Record<string, string> = {}) {
  return stack.gateway({
    CACHE_MAX_BYTES: String(1024 * KIB),
    CACHE_TTL_MS: String(TTL_MS),
    ...env,
  });
}

/** Requests of any method the storage saw for one object. */
const seen = (task: number) => stack.s3Proxy.requests.filter((r) => r.path === path(task));

describe('the small-object cache', () => {
  it('serves a hit without asking the source, and an overwritten object new once the TTL passed', async () => {
    const v1 = await stack.s3.put('images', key(1), patternBytes(0, SIZE));
    const { url } = await cachingGateway();

    const miss = await download(`${url}/tasks/1/image`);
    const hit = await download(`${url}/tasks/1/image`);
    expect(miss.sha256).toBe(patternSha256(0, SIZE));
    expect(hit.sha256).toBe(patternSha256(0, SIZE));
    expect(hit.headers.etag).toBe(v1);
    expect(hit.headers['content-length']).toBe(String(SIZE));
    expect(seen(1)).toHaveLength(1);

    const v2 = await stack.s3.put('images', key(1), patternBytes(1, SIZE + 1));
    expect(v2).not.toBe(v1);
    await sleep(TTL_MS + 50);
    const fresh = await download(`${url}/tasks/1/image`);

    expect(fresh.sha256).toBe(patternSha256(1, SIZE + 1));
    expect(fresh.headers.etag).toBe(v2);
    const gets = stack.s3Proxy.gets(path(1));
    expect(gets).toHaveLength(2);
    expect(gets[1]?.headers['if-none-match']).toBe(v1);
    expect(events).toEqual(['miss', 'hit', 'replaced']);
    // The new version was kept: served again without the source.
    const again = await download(`${url}/tasks/1/image`);
    expect(again.headers.etag).toBe(v2);
    expect(stack.s3Proxy.gets(path(1))).toHaveLength(2);
  });

  it('a stale entry the source confirms (304) is refreshed: no body transferred', async () => {
    const etag = await stack.s3.put('images', key(2), patternBytes(0, SIZE));
    const { url } = await cachingGateway();

    await download(`${url}/tasks/2/image`);
    await sleep(TTL_MS + 50);
    const revalidated = await download(`${url}/tasks/2/image`);
    const hit = await download(`${url}/tasks/2/image`);

    for (const one of [revalidated, hit]) {
      expect(one.status).toBe(200);
      expect(one.sha256).toBe(patternSha256(0, SIZE));
      expect(one.headers.etag).toBe(etag);
    }
    const gets = stack.s3Proxy.gets(path(2));
    expect(gets).toHaveLength(2);
    expect(gets[1]?.headers['if-none-match']).toBe(etag);
    expect(events).toEqual(['miss', 'revalidated', 'hit']);
    // The source's 304 is an answer, not a failed attempt.
    expect(attempts).toEqual(['ok', 'not-modified']);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('streamgate_source_first_byte_seconds_count{source="storage"} 2');
    expect(metrics).not.toMatch(/^streamgate_source_errors_total\{/m);
  });

  it('HEAD, Range and If-None-Match are answered from cached validators', async () => {
    const etag = await stack.s3.put('images', key(3), patternBytes(0, SIZE));
    const { url } = await cachingGateway({ CACHE_TTL_MS: '60000' });
    await download(`${url}/tasks/3/image`);

    const head = await download(`${url}/tasks/3/image`, { method: 'HEAD' });
    const range = await download(`${url}/tasks/3/image`, { headers: { range: 'bytes=100-4195' } });
    const unchanged = await download(`${url}/tasks/3/image`, {
      headers: { 'if-none-match': etag },
    });

    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(SIZE));
    expect(head.headers.etag).toBe(etag);
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes 100-4195/${SIZE}`);
    expect(range.sha256).toBe(patternSha256(100, 4196));
    expect(unchanged.status).toBe(304);
    expect(seen(3)).toHaveLength(1);
  });

  it('evicts the least recently used entry when full (by bytes)', async () => {
    for (const task of [4, 5, 6])
      await stack.s3.put('images', key(task), patternBytes(task, task + SIZE));
    // Room for two 16 KiB bodies and their allowance, not three.
    const { url } = await cachingGateway({
      CACHE_MAX_BYTES: String(2 * SIZE + 2 * KIB),
      CACHE_TTL_MS: '60000',
    });
    const get = (task: number) => download(`${url}/tasks/${task}/image`);

    await get(4);
    await get(5);
    await get(4);
    await get(6);
    const four = await get(4);
    const five = await get(5);

    expect(four.sha256).toBe(patternSha256(4, 4 + SIZE));
    expect(five.sha256).toBe(patternSha256(5, 5 + SIZE));
    expect(stack.s3Proxy.gets(path(4))).toHaveLength(1);
    expect(stack.s3Proxy.gets(path(5))).toHaveLength(2);
    expect(stack.s3Proxy.gets(path(6))).toHaveLength(1);
  });

  it('does not keep objects above CACHE_MAX_OBJECT_BYTES', async () => {
    await stack.s3.put('images', key(7), patternBytes(0, SIZE));
    const { url } = await cachingGateway({ CACHE_MAX_OBJECT_BYTES: String(SIZE - 1) });

    const first = await download(`${url}/tasks/7/image`);
    const second = await download(`${url}/tasks/7/image`);

    expect(first.sha256).toBe(patternSha256(0, SIZE));
    expect(second.sha256).toBe(patternSha256(0, SIZE));
    expect(stack.s3Proxy.gets(path(7))).toHaveLength(2);
    expect(events).toEqual(['miss', 'miss']);
  });
});
