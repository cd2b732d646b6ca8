import { describe, expect, it } from 'vitest';
import { sha256 } from '../../dev/pattern.js';
import { pathParamIssue } from '../helpers/http-client.js';
import { mockedAppPerTest } from '../helpers/mocked-app.js';

// In the original's style: the upstream is mocked (undici MockAgent), five chunks of b"x" * size.
const upstream = 'http://upstream.test';

describe('bytes route with a mocked upstream', () => {
  const mocked = mockedAppPerTest('upstreamDispatcher', {
    UPSTREAM_BASE_URL: upstream,
    MAX_STREAM_BYTES: '1000',
    RETRY_BACKOFF_MS: '0',
  });

  it('streams the upstream body with its content type', async () => {
    const size = 100;
    const body = Buffer.alloc(size * 5, 'x');
    mocked.agent
      .get(upstream)
      .intercept({ path: `/stream-bytes/${size}`, method: 'GET' })
      .reply(200, body, { headers: { 'content-type': 'application/octet-stream' } });
    const response = await mocked.app.inject({ url: `/tasks/1/bytes/${size}` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(sha256(response.rawPayload)).toBe(sha256(body));
  });

  it('passes the content length on when upstream sends one', async () => {
    mocked.agent
      .get(upstream)
      .intercept({ path: '/stream-bytes/3', method: 'GET' })
      .reply(200, 'abc', { headers: { 'content-type': 'text/plain', 'content-length': '3' } });
    const response = await mocked.app.inject({ url: '/tasks/1/bytes/3' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain');
    expect(response.headers['content-length']).toBe('3');
    expect(response.body).toBe('abc');
  });

  it.each([404, 403, 500])('answers an upstream %i with 502', async (status) => {
    mocked.agent
      .get(upstream)
      .intercept({ path: '/stream-bytes/10', method: 'GET' })
      .reply(status, 'upstream secret')
      .times(3);
    const response = await mocked.app.inject({ url: '/tasks/1/bytes/10' });
    expect(response.statusCode).toBe(502);
    expect(response.json()).toEqual({ detail: 'Failed to download bytes' });
  });

  it('retries a 503 before the first byte and then streams', async () => {
    const pool = mocked.agent.get(upstream);
    pool.intercept({ path: '/stream-bytes/4', method: 'GET' }).reply(503, '');
    pool.intercept({ path: '/stream-bytes/4', method: 'GET' }).reply(200, 'data');
    const response = await mocked.app.inject({ url: '/tasks/1/bytes/4' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('data');
  });

  it('rejects a size above MAX_STREAM_BYTES with a FastAPI-shaped 422', async () => {
    const response = await mocked.app.inject({ url: '/tasks/1/bytes/1001' });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual(
      pathParamIssue('size', 'Input should be less than or equal to 1000', 'less_than_equal'),
    );
  });
});
