import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternSha256, sha256 } from '../dev/pattern.js';
import { type LocalUpstream, startLocalUpstream } from '../dev/upstream-server.js';
import { type RunningGateway, startGateway } from './helpers/gateway.js';

const SIZE = 1024 * 1024 + 5;
const ETAG = `"range-${SIZE}"`;

describe('bytes route: Range and conditionals relayed from an upstream that supports them', () => {
  let upstream: LocalUpstream;
  let ranged: RunningGateway;
  let chunked: RunningGateway;
  const seen: { method: string | undefined; headers: IncomingHttpHeaders }[] = [];

  beforeAll(async () => {
    upstream = await startLocalUpstream();
    upstream.server.on('request', (request) => {
      seen.push({ method: request.method, headers: request.headers });
    });
    ranged = await startGateway({
      UPSTREAM_BASE_URL: upstream.baseUrl,
      UPSTREAM_PATH_TEMPLATE: '/range/{size}',
    });
    chunked = await startGateway({ UPSTREAM_BASE_URL: upstream.baseUrl });
  });

  afterAll(async () => {
    await Promise.all([ranged?.close(), chunked?.close()]);
    await upstream?.stop();
  });

  async function get(gateway: RunningGateway, headers: Record<string, string> = {}) {
    seen.length = 0;
    const response = await fetch(`${gateway.url}/tasks/1/bytes/${SIZE}`, { headers });
    return { response, body: Buffer.from(await response.arrayBuffer()) };
  }

  it('asks the upstream for the range and answers 206 with its bytes', async () => {
    const { response, body } = await get(ranged, { range: 'bytes=100-199' });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 100-199/${SIZE}`);
    expect(response.headers.get('content-length')).toBe('100');
    expect(response.headers.get('etag')).toBe(ETAG);
    expect(sha256(body)).toBe(patternSha256(100, 200));
    const getRequest = seen.find((request) => request.method === 'GET');
    expect(getRequest?.headers.range).toBe('bytes=100-199');
    expect(getRequest?.headers['if-match']).toBe(ETAG);
  });

  it('answers a suffix range with the last bytes', async () => {
    const { response, body } = await get(ranged, { range: 'bytes=-10' });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes ${SIZE - 10}-${SIZE - 1}/${SIZE}`);
    expect(sha256(body)).toBe(patternSha256(SIZE - 10, SIZE));
  });

  it('answers an unsatisfiable range with 416 and the size', async () => {
    const { response } = await get(ranged, { range: `bytes=${SIZE}-` });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe(`bytes */${SIZE}`);
  });

  it('answers If-None-Match with 304 and If-Match with 412, without a body request', async () => {
    const notModified = await get(ranged, { 'if-none-match': ETAG });
    expect(notModified.response.status).toBe(304);
    expect(notModified.response.headers.get('etag')).toBe(ETAG);
    expect(notModified.body.length).toBe(0);
    expect(seen.map((request) => request.method)).toEqual(['HEAD']);
    const failed = await get(ranged, { 'if-match': '"another"' });
    expect(failed.response.status).toBe(412);
    expect(seen.map((request) => request.method)).toEqual(['HEAD']);
  });

  it('answers HEAD with the upstream headers without a GET', async () => {
    seen.length = 0;
    const response = await fetch(`${ranged.url}/tasks/1/bytes/${SIZE}`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(SIZE));
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('etag')).toBe(ETAG);
    expect(seen.map((request) => request.method)).toEqual(['HEAD']);
  });

  it('sends the whole body when the upstream does not support ranges', async () => {
    const { response, body } = await get(chunked, { range: 'bytes=100-199' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-range')).toBeNull();
    expect(sha256(body)).toBe(patternSha256(0, SIZE));
  });
});
