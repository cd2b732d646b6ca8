import http from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, patternSha256, patternStream, sha256 } from '../dev/pattern.js';
import { type RunningGateway, s3Env, startGateway } from './helpers/gateway.js';
import { download, pathParamIssue } from './helpers/http-client.js';
import { type Origins, startOrigins } from './helpers/origins.js';
import { type TempStore, tempStore } from './helpers/store.js';

const TEN_MIB = 10 * 1024 * 1024;

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('streaming from real servers on loopback', () => {
  let origins: Origins;
  let store: TempStore;
  let overS3: RunningGateway;
  let overFs: RunningGateway;
  let s3Etag: string;

  beforeAll(async () => {
    origins = await startOrigins();
    const { s3, upstream } = origins;
    s3Etag = await s3.put('images', 'test/1/image.jpg', patternStream(0, TEN_MIB), TEN_MIB);
    store = await tempStore('fs');
    await store.put('images', 'test/1/image.jpg', patternBytes(0, TEN_MIB));
    const common = { UPSTREAM_BASE_URL: upstream.baseUrl, RETRY_BACKOFF_MS: '1' };
    overS3 = await startGateway({ ...common, ...s3Env(s3) });
    overFs = await startGateway({ ...common, ...store.env });
  });

  afterAll(async () => {
    await Promise.all([overS3?.close(), overFs?.close()]);
    await origins?.stop();
    await store?.remove();
  });

  it('delivers a 10 MiB object from S3 byte-identical with the documented headers', async () => {
    const response = await fetch(`${overS3.url}/tasks/1/image`);
    const body = Buffer.from(await response.arrayBuffer());
    expect(response.status).toBe(200);
    expect(sha256(body)).toBe(patternSha256(0, TEN_MIB));
    expect(response.headers.get('content-length')).toBe(String(TEN_MIB));
    expect(response.headers.get('etag')).toBe(s3Etag);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('last-modified')).toMatch(/GMT$/);
  });

  it('delivers a 10 MiB object from the local store byte-identical', async () => {
    const response = await fetch(`${overFs.url}/tasks/1/image`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(TEN_MIB));
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(patternSha256(0, TEN_MIB));
  });

  it.each(['overS3', 'overFs'] as const)(
    'answers a missing object with 404 (%s)',
    async (which) => {
      const gateway = which === 'overS3' ? overS3 : overFs;
      const response = await fetch(`${gateway.url}/tasks/999/image`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ detail: 'Image not found' });
    },
  );

  it.each(['overS3', 'overFs'] as const)(
    'answers HEAD with the GET headers and no body (%s)',
    async (which) => {
      const gateway = which === 'overS3' ? overS3 : overFs;
      const head = await download(`${gateway.url}/tasks/1/image`, { method: 'HEAD' });
      const get = await fetch(`${gateway.url}/tasks/1/image`, { headers: { range: 'bytes=0-1' } });
      await get.arrayBuffer();
      expect(head.status).toBe(200);
      expect(head.length).toBe(0);
      expect(head.headers['content-length']).toBe(String(TEN_MIB));
      expect(head.headers.etag).toBe(get.headers.get('etag'));
      expect(head.headers['content-type']).toBe('image/jpeg');
    },
  );

  it('streams the upstream bytes as they arrive, byte-identical', async () => {
    const size = 3 * 1024 * 1024 + 17;
    const response = await fetch(`${overS3.url}/tasks/5/bytes/${size}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('content-length')).toBeNull();
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(patternSha256(0, size));
  });

  it('answers a failing upstream with 502', async () => {
    const failing = await startGateway({
      UPSTREAM_BASE_URL: origins.upstream.baseUrl,
      UPSTREAM_PATH_TEMPLATE: '/status/{size}',
      RETRY_BACKOFF_MS: '1',
    });
    try {
      for (const status of [404, 500, 503]) {
        const response = await fetch(`${failing.url}/tasks/1/bytes/${status}`);
        expect(response.status).toBe(502);
        expect(await response.json()).toEqual({ detail: 'Failed to download bytes' });
      }
    } finally {
      await failing.close();
    }
  });

  it.each([
    { fault: 'resets', status: 502, detail: 'Failed to download bytes' },
    // It answered (its headers), then failed to send the bytes: a failed download, not a timeout.
    { fault: 'goes quiet', status: 502, detail: 'Failed to download bytes' },
  ])(
    'answers an upstream that $fault after its headers, before any byte, with $status',
    async ({ fault, status, detail }) => {
      const origin = http.createServer((request, response) => {
        response.writeHead(200, { 'content-length': '100000' }).flushHeaders();
        if (fault === 'resets') setTimeout(() => request.socket.destroy(), 20);
      });
      await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
      const { port } = origin.address() as AddressInfo;
      const gateway = await startGateway({
        UPSTREAM_BASE_URL: `http://127.0.0.1:${port}`,
        UPSTREAM_PATH_TEMPLATE: '/{size}',
        IDLE_TIMEOUT_MS: '200',
      });
      try {
        const response = await fetch(`${gateway.url}/tasks/1/bytes/100000`);
        expect(response.status).toBe(status);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(response.headers.get('content-range')).toBeNull();
        expect(await response.json()).toEqual({ detail });
      } finally {
        await gateway.close();
        origin.closeAllConnections();
        await new Promise((resolve) => origin.close(resolve));
      }
    },
  );

  it('answers unreachable storage and an unreachable upstream with 502, leaking nothing', async () => {
    const port = await closedPort();
    const unreachable = await startGateway({
      ...s3Env(
        { endpoint: `http://127.0.0.1:${port}` },
        { accessKeyId: 'AKIDSECRETSECRET', secretAccessKey: 'verysecret' },
      ),
      UPSTREAM_BASE_URL: `http://127.0.0.1:${port}`,
      RETRY_BACKOFF_MS: '1',
    });
    try {
      const image = await fetch(`${unreachable.url}/tasks/1/image`);
      const imageBody = await image.text();
      expect(image.status).toBe(502);
      expect(JSON.parse(imageBody)).toEqual({ detail: 'Failed to get the image' });
      const bytes = await fetch(`${unreachable.url}/tasks/1/bytes/10`);
      const bytesBody = await bytes.text();
      expect(bytes.status).toBe(502);
      expect(JSON.parse(bytesBody)).toEqual({ detail: 'Failed to download bytes' });
      for (const body of [imageBody, bytesBody]) {
        expect(body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|AKID|secret|at /);
      }
    } finally {
      await unreachable.close();
    }
  });

  it.each([
    ['/tasks/abc/image', 'task_id'],
    ['/tasks/1.5/image', 'task_id'],
    ['/tasks/-3/image', 'task_id'],
    ['/tasks/1e3/image', 'task_id'],
    ['/tasks/1/bytes/0x10', 'size'],
    ['/tasks/x/bytes/10', 'task_id'],
  ])('answers %s with a FastAPI-shaped 422 naming %s', async (url, name) => {
    const response = await fetch(`${overS3.url}${url}`);
    expect(response.status).toBe(422);
    const body = (await response.json()) as { detail: { loc: string[]; type: string }[] };
    expect(body.detail[0]?.loc).toEqual(['path', name]);
    expect(body.detail[0]?.type).toBe('int_parsing');
  });

  it('answers a task id past 2^53 - 1 with a 422, not the object of the id it rounds to', async () => {
    const response = await fetch(`${overS3.url}/tasks/9007199254740993/image`);
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual(
      pathParamIssue(
        'task_id',
        'Input should be less than or equal to 9007199254740991',
        'less_than_equal',
      ),
    );
  });

  it('answers other methods with 405 and allow', async () => {
    const response = await fetch(`${overS3.url}/tasks/1/image`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(await response.json()).toEqual({ detail: 'Method Not Allowed' });
  });
});
