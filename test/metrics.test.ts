import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, patternSha256 } from '../dev/pattern.js';
import { type Fault, sequence } from './helpers/fault-proxy.js';
import { FaultStack } from './helpers/fault-stack.js';
import { download, waitFor } from './helpers/http-client.js';
import { sampleValue, scrape } from './helpers/observe.js';

const MIB = 1024 * 1024;
const SIZE = 2 * MIB;

let stack: FaultStack;

beforeAll(async () => {
  stack = await FaultStack.start();
  await stack.s3.put('images', 'test/1/image.jpg', patternBytes(0, SIZE));
});

afterEach(() => stack.reset());

afterAll(() => stack?.stop());

const image = { route: 'getTaskImage' };
const storage = { source: 'storage' };

describe('GET /metrics', () => {
  it('counts a complete download: request, bytes both ways, stream outcome, first byte', async () => {
    const { url } = await stack.gateway({});
    const got = await download(`${url}/tasks/1/image`);
    expect(got.sha256).toBe(patternSha256(0, SIZE));

    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const samples = await scrape(url);
    const ok = { ...image, method: 'GET', status: '200' };
    expect(sampleValue(samples, 'streamgate_requests_total', ok)).toBe(1);
    expect(sampleValue(samples, 'streamgate_response_bytes_total', image)).toBe(SIZE);
    expect(sampleValue(samples, 'streamgate_source_bytes_total', storage)).toBe(SIZE);
    const complete = { ...image, outcome: 'complete' };
    expect(sampleValue(samples, 'streamgate_streams_total', complete)).toBe(1);
    expect(sampleValue(samples, 'streamgate_streams_in_flight')).toBe(0);
    expect(sampleValue(samples, 'streamgate_source_first_byte_seconds_count', storage)).toBe(1);
    expect(sampleValue(samples, 'streamgate_request_duration_seconds_count', image)).toBe(1);
    expect(sampleValue(samples, 'streamgate_source_retries_total', storage)).toBe(0);
    // prom-client's process metrics come along.
    expect(samples.some((sample) => sample.name === 'process_cpu_user_seconds_total')).toBe(true);
  });

  it('counts cache lookups, requests that joined a read, and parallel parts', async () => {
    const cached = await stack.gateway({
      CACHE_MAX_BYTES: String(8 * MIB),
      CACHE_MAX_OBJECT_BYTES: String(4 * MIB),
      CACHE_TTL_MS: '60000',
    });
    for (let i = 0; i < 2; i++) {
      expect((await download(`${cached.url}/tasks/1/image`)).sha256).toBe(patternSha256(0, SIZE));
    }
    let samples = await scrape(cached.url);
    expect(
      sampleValue(samples, 'streamgate_cache_requests_total', { ...storage, result: 'miss' }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'streamgate_cache_requests_total', { ...storage, result: 'hit' }),
    ).toBe(1);
    const complete = { ...image, outcome: 'complete' };
    expect(sampleValue(samples, 'streamgate_streams_total', complete)).toBe(2);

    // The first GET stalls mid-body, so that the others arrive while it is in flight.
    stack.s3Proxy.rule = sequence([{ type: 'stall', afterBytes: MIB, ms: 300 }]);
    const shared = await stack.gateway({});
    const leader = download(`${shared.url}/tasks/1/image`);
    await waitFor(() => stack.s3Proxy.stalled === 1, 'the first source read to stall');
    const bodies = await Promise.all([
      leader,
      download(`${shared.url}/tasks/1/image`),
      download(`${shared.url}/tasks/1/image`),
    ]);
    for (const body of bodies) expect(body.sha256).toBe(patternSha256(0, SIZE));
    samples = await scrape(shared.url);
    expect(sampleValue(samples, 'streamgate_coalesced_requests_total', storage)).toBe(2);
    expect(sampleValue(samples, 'streamgate_streams_total', complete)).toBe(3);

    stack.reset();
    const parts = await stack.gateway({
      PARALLEL_MIN_BYTES: String(MIB),
      PART_SIZE: String(512 * 1024),
      COALESCE_MAX_BYTES: '0',
    });
    expect((await download(`${parts.url}/tasks/1/image`)).sha256).toBe(patternSha256(0, SIZE));
    samples = await scrape(parts.url);
    expect(sampleValue(samples, 'streamgate_parts_fetched_total', storage)).toBe(4);
    expect(sampleValue(samples, 'streamgate_streams_total', complete)).toBe(1);
  });

  it('has no /metrics with METRICS=false, and still serves with request ids', async () => {
    const { url } = await stack.gateway({ METRICS: 'false' });
    const got = await download(`${url}/tasks/1/image`, {
      headers: { 'x-request-id': 'no-metrics-1' },
    });
    expect(got.sha256).toBe(patternSha256(0, SIZE));
    expect(got.headers['x-request-id']).toBe('no-metrics-1');
    const metrics = await download(`${url}/metrics`);
    expect(metrics.status).toBe(404);
  });

  it('labels by route and status, never by raw URL', async () => {
    const { url } = await stack.gateway({});
    await download(`${url}/tasks/abc/image`);
    await download(`${url}/no/such/path?x=1`);
    await download(`${url}/tasks/1/image`, { method: 'DELETE' });
    const samples = await scrape(url);
    const invalid = { ...image, method: 'GET', status: '422' };
    expect(sampleValue(samples, 'streamgate_requests_total', invalid)).toBe(1);
    const unmatched = { route: 'unmatched', method: 'GET', status: '404' };
    expect(sampleValue(samples, 'streamgate_requests_total', unmatched)).toBe(1);
    const notAllowed = { route: '/tasks/:task_id/image', method: 'DELETE', status: '405' };
    expect(sampleValue(samples, 'streamgate_requests_total', notAllowed)).toBe(1);
    const routes = new Set(samples.flatMap((sample) => sample.labels.route ?? []));
    expect([...routes].filter((route) => route.includes('abc') || route.includes('no/'))).toEqual(
      [],
    );
  });

  it('counts retries and the failures that caused them', async () => {
    const { url } = await stack.gateway({ RETRY_ATTEMPTS: '3' });
    const slowDown: Fault = { type: 'status', status: 503, code: 'SlowDown' };
    stack.s3Proxy.rule = sequence([slowDown, slowDown]);
    const got = await download(`${url}/tasks/1/image`);
    expect(got.status).toBe(200);

    const samples = await scrape(url);
    expect(sampleValue(samples, 'streamgate_source_retries_total', storage)).toBe(2);
    const unavailable = { ...storage, failure: 'unavailable' };
    expect(sampleValue(samples, 'streamgate_source_errors_total', unavailable)).toBe(2);
    expect(sampleValue(samples, 'streamgate_source_first_byte_seconds_count', storage)).toBe(3);
  });

  it('counts a resume, and a body that stalls beyond resuming as timed out', async () => {
    const { url } = await stack.gateway({ IDLE_TIMEOUT_MS: '300', RESUME_ATTEMPTS: '1' });
    stack.s3Proxy.rule = sequence([{ type: 'cut', afterBytes: MIB }]);
    const resumed = await download(`${url}/tasks/1/image`);
    expect(resumed.sha256).toBe(patternSha256(0, SIZE));

    stack.s3Proxy.rule = sequence([
      { type: 'stall', afterBytes: MIB },
      { type: 'stall', afterBytes: 1024 },
    ]);
    const stalled = await download(`${url}/tasks/1/image`);
    expect(stalled.complete).toBe(false);

    const samples = await scrape(url);
    expect(sampleValue(samples, 'streamgate_source_resumes_total', storage)).toBe(2);
    const complete = { ...image, outcome: 'complete' };
    expect(sampleValue(samples, 'streamgate_streams_total', complete)).toBe(1);
    const timedOut = { ...image, outcome: 'timed_out' };
    expect(sampleValue(samples, 'streamgate_streams_total', timedOut)).toBe(1);
    expect(sampleValue(samples, 'streamgate_streams_in_flight')).toBe(0);
  });

  it('counts a client that leaves mid-body as client_aborted, and the stream leaves the gauge', async () => {
    const { url } = await stack.gateway({});
    stack.s3Proxy.rule = sequence([{ type: 'stall', afterBytes: MIB / 2 }]);
    const request = http.get(`${url}/tasks/1/image`, { agent: false });
    request.on('error', () => {});
    const response = await new Promise<http.IncomingMessage>((resolve) =>
      request.once('response', resolve),
    );
    const inFlight = await scrape(url);
    expect(sampleValue(inFlight, 'streamgate_streams_in_flight')).toBe(1);
    response.destroy();

    let samples = await scrape(url);
    for (let tries = 0; sampleValue(samples, 'streamgate_streams_in_flight') !== 0; tries++) {
      if (tries === 200) throw new Error('the stream did not end');
      await new Promise((resolve) => setTimeout(resolve, 10));
      samples = await scrape(url);
    }
    const aborted = { ...image, outcome: 'client_aborted' };
    expect(sampleValue(samples, 'streamgate_streams_total', aborted)).toBe(1);
    expect(sampleValue(samples, 'streamgate_response_bytes_total', image)).toBeLessThan(SIZE);
  });
});
