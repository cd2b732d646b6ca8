import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalS3,
  S3_ACCESS_KEY_ID,
  S3_SECRET_ACCESS_KEY,
  startLocalS3,
} from '../dev/s3-server.js';
import { type LocalUpstream, startLocalUpstream } from '../dev/upstream-server.js';
import { startGateway } from './helpers/gateway.js';

describe('health and readiness', () => {
  let s3: LocalS3;
  let upstream: LocalUpstream;
  let dataDir: string;

  beforeAll(async () => {
    [s3, upstream] = await Promise.all([startLocalS3(['images']), startLocalUpstream()]);
    dataDir = await mkdtemp(path.join(tmpdir(), 'streamgate-ready-'));
    await mkdir(path.join(dataDir, 'images'));
  });

  afterAll(async () => {
    await Promise.all([s3?.stop(), upstream?.stop()]);
    await rm(dataDir, { recursive: true, force: true });
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

  const s3Env = () => ({
    STORAGE_BACKEND: 's3',
    AWS_ENDPOINT_URL: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY,
    UPSTREAM_BASE_URL: upstream.baseUrl,
  });

  it('is ready when the bucket and the upstream answer', async () => {
    for (const env of [s3Env(), { DATA_DIR: dataDir, UPSTREAM_BASE_URL: upstream.baseUrl }]) {
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
      { ...s3Env(), S3_IMAGE_BUCKET: 'absent' },
      { DATA_DIR: dataDir, S3_IMAGE_BUCKET: 'absent', UPSTREAM_BASE_URL: upstream.baseUrl },
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
    const result = await probe({ ...s3Env(), UPSTREAM_BASE_URL: closed.baseUrl });
    expect(result.status).toBe(503);
    expect(result.body.checks).toEqual({ storage: 'ok', upstream: 'unavailable' });
    expect(JSON.stringify(result.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
  });
});
