import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternStream } from '../dev/pattern.js';
import { type LocalS3, startLocalS3 } from '../dev/s3-server.js';
import { type LocalUpstream, startLocalUpstream } from '../dev/upstream-server.js';
import { type RunningGateway, startGateway } from './helpers/gateway.js';
import { watchInFlight } from './helpers/in-flight.js';

const OBJECT = 64 * 1024 * 1024;

/** Reads `bytes` of the body (at least one chunk), then tears the connection down. */
function readThenAbort(url: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, (response) => {
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= bytes) {
          req.destroy();
          resolve(received);
        }
      });
      response.on('end', () => reject(new Error('the whole body arrived before the abort')));
    });
    req.on('error', () => {});
    req.end();
  });
}

describe('a client that disconnects mid-download', () => {
  let s3: LocalS3;
  let upstream: LocalUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    [s3, upstream] = await Promise.all([startLocalS3(['images']), startLocalUpstream()]);
    await s3.put('images', 'test/1/image.jpg', patternStream(0, OBJECT), OBJECT);
    gateway = await startGateway({
      STORAGE_BACKEND: 's3',
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      UPSTREAM_BASE_URL: upstream.baseUrl,
      UPSTREAM_PATH_TEMPLATE: '/range/{size}',
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([s3?.stop(), upstream?.stop()]);
  });

  it('ends the storage request at once', async () => {
    const storage = watchInFlight(s3.httpServer);
    const received = await readThenAbort(`${gateway.url}/tasks/1/image`, 1024 * 1024);
    expect(received).toBeLessThan(OBJECT);
    await storage.settled(2_000);
    expect(storage.count()).toBe(0);
  });

  it('ends the upstream request at once', async () => {
    const source = watchInFlight(upstream.server);
    const received = await readThenAbort(`${gateway.url}/tasks/1/bytes/${OBJECT}`, 1024 * 1024);
    expect(received).toBeLessThan(OBJECT);
    await source.settled(2_000);
    expect(source.count()).toBe(0);
  });
});
