import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalUpstream } from '../dev/upstream-server.js';
import { startGateway } from './helpers/gateway.js';
import { type Origins, startOrigins } from './helpers/origins.js';
import { type TempStore, tempStore } from './helpers/store.js';

describe('health and readiness', () => {
  let origins: Origins;
  let store: TempStore;

  beforeAll(async () => {
    origins = await startOrigins();
    store = await tempStore('ready');
    await store.put('images', 'placeholder', '');
  });

  afterAll(async () => {
    await origins?.stop();
    await store?.remove();
  });

  async function probe(env: Record<string, string>) {
    const gateway = await startGateway({ FIRST_BYTE_TIMEOUT_MS: '2000', ...env });
    try {
      const [live, ready] = await Promise.all([
        fetch(`${gateway.url}/healthz`),
        fetch(`${gateway.url}/readyz`),
      ]);
      const body = (await ready.json()) as { checks: Record<string, string> };
      return { live: live.status, status: ready.status, body };
    } finally {
      await gateway.close();
    }
  }

  const overFs = () => ({ ...store.env, UPSTREAM_BASE_URL: origins.upstream.baseUrl });

  it('is ready when the bucket and the upstream answer', async () => {
    for (const env of [origins.env, overFs()]) {
      const result = await probe(env);
      expect(result).toEqual({
        live: 200,
        status: 200,
        body: { status: 'ready', checks: { storage: 'ok', upstream: 'ok' } },
      });
    }
  });

  it('is not ready, but alive, when the bucket is missing', async () => {
    const envs: Record<string, string>[] = [
      { ...origins.env, S3_IMAGE_BUCKET: 'absent' },
      { ...overFs(), S3_IMAGE_BUCKET: 'absent' },
    ];
    for (const env of envs) {
      const result = await probe(env);
      expect(result.live).toBe(200);
      expect(result.status).toBe(503);
      expect(result.body).toEqual({
        detail: 'Not ready',
        checks: { storage: 'unavailable', upstream: 'ok' },
      });
    }
  });

  it('is not ready when the upstream is unreachable, and says nothing of where it is', async () => {
    const closed = await startLocalUpstream();
    await closed.stop();
    const result = await probe({ ...origins.env, UPSTREAM_BASE_URL: closed.baseUrl });
    expect(result.status).toBe(503);
    expect(result.body.checks).toEqual({ storage: 'ok', upstream: 'unavailable' });
    expect(JSON.stringify(result.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
  });
});
