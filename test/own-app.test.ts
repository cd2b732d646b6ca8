import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createS3Source } from 'streamgate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternSha256, patternStream } from '../dev/pattern.js';
import {
  type LocalS3,
  S3_ACCESS_KEY_ID,
  S3_SECRET_ACCESS_KEY,
  startLocalS3,
} from '../dev/s3-server.js';
import { buildCameraApp } from '../examples/own-app/app.js';
import { download } from './helpers/http-client.js';

const SIZE = 3 * 1024 * 1024 + 17;
const TOKEN = 'a-team-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('a team’s own Fastify app streaming from S3 with the plugin (examples/own-app)', () => {
  let s3: LocalS3;
  let app: FastifyInstance;
  let url: string;
  let etag: string;

  beforeAll(async () => {
    s3 = await startLocalS3(['snapshots']);
    etag = await s3.put('snapshots', 'cameras/cam-7/latest.jpg', patternStream(0, SIZE), SIZE);
    const snapshots = createS3Source({
      bucket: 'snapshots',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY },
    });
    app = buildCameraApp({ snapshots, apiToken: TOKEN });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/cameras/cam-7/snapshot`;
  });

  afterAll(async () => {
    await app?.close();
    await s3?.stop();
  });

  it('answers 401 from its own hook without the token', async () => {
    const response = await download(url);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json).toEqual({ detail: 'Not authenticated' });
  });

  it('streams the whole snapshot with the route’s presentation', async () => {
    const response = await download(url, { headers: auth });
    expect(response.status).toBe(200);
    expect(response.complete).toBe(true);
    expect(response.sha256).toBe(patternSha256(0, SIZE));
    expect(response.headers['content-type']).toBe('image/jpeg');
    expect(response.headers['cache-control']).toBe('private, max-age=5');
    expect(response.headers.etag).toBe(etag);
  });

  it('answers a range with 206 and exactly those bytes', async () => {
    const response = await download(url, { headers: { ...auth, range: 'bytes=1000000-2999999' } });
    expect(response.status).toBe(206);
    expect(response.headers['content-range']).toBe(`bytes 1000000-2999999/${SIZE}`);
    expect(response.length).toBe(2_000_000);
    expect(response.sha256).toBe(patternSha256(1_000_000, 3_000_000));
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const response = await download(url, { headers: { ...auth, 'if-none-match': etag } });
    expect(response.status).toBe(304);
    expect(response.length).toBe(0);
    expect(response.headers.etag).toBe(etag);
  });

  it('answers HEAD with the headers of the GET and no body', async () => {
    const response = await download(url, { method: 'HEAD', headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe(String(SIZE));
    expect(response.length).toBe(0);
    const ranged = await download(url, {
      method: 'HEAD',
      headers: { ...auth, range: 'bytes=-10' },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-length']).toBe('10');
    expect(ranged.headers['content-range']).toBe(`bytes ${SIZE - 10}-${SIZE - 1}/${SIZE}`);
  });

  it('answers a missing object with the plugin’s catalogued 404', async () => {
    const response = await download(url.replace('cam-7', 'cam-8'), { headers: auth });
    expect(response.status).toBe(404);
    expect(response.json).toEqual({ detail: 'Object not found' });
  });

  it('leaves the app’s own error handling alone (Fastify’s 400 for a bad parameter)', async () => {
    const response = await download(url.replace('cam-7', 'CAM_7'), { headers: auth });
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });
});
