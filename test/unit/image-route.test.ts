import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../dev/pattern.js';
import { buildApp } from '../../src/app.js';
import { loadSettings } from '../../src/settings.js';

// In the original's style: the storage client is mocked, the route is exercised in-process.
const chunk = Buffer.alloc(64 * 1024, 'x');
const chunks = [chunk, chunk, chunk, chunk, chunk];
const object = Buffer.concat(chunks);
const etag = '"5d41402abc4b2a76b9719d911017c592"';
const lastModified = new Date('2026-11-30T10:00:00Z');

function storageError(status: number, name: string): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `secret internals of ${name} at 10.0.0.7 with AKIDEXAMPLE`,
  });
}

describe('image route with a mocked S3 client', () => {
  const client = new S3Client({ region: 'us-east-1' });
  const s3 = mockClient(client);
  let app: FastifyInstance;

  beforeEach(() => {
    s3.reset();
    app = buildApp(loadSettings({ STORAGE_BACKEND: 's3', LOG_LEVEL: 'silent' }), {
      s3Client: client,
    });
  });
  afterEach(() => app.close());

  it('streams the object with the documented headers', async () => {
    s3.on(GetObjectCommand, { Bucket: 'images', Key: 'test/42/image.jpg' }).callsFake(() => ({
      Body: sdkStreamMixin(Readable.from(chunks)),
      ContentLength: object.length,
      ETag: etag,
      LastModified: lastModified,
      ContentType: 'binary/octet-stream',
    }));
    const response = await app.inject({ method: 'GET', url: '/tasks/42/image' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/jpeg');
    expect(response.headers['content-length']).toBe(String(object.length));
    expect(response.headers.etag).toBe(etag);
    expect(response.headers['last-modified']).toBe(lastModified.toUTCString());
    expect(response.headers['accept-ranges']).toBe('bytes');
    expect(sha256(response.rawPayload)).toBe(sha256(object));
  });

  it('answers HEAD from HeadObject without opening the body', async () => {
    s3.on(HeadObjectCommand).resolves({
      ContentLength: object.length,
      ETag: etag,
      LastModified: lastModified,
    });
    const response = await app.inject({ method: 'HEAD', url: '/tasks/42/image' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe(String(object.length));
    expect(response.headers.etag).toBe(etag);
    expect(response.rawPayload.length).toBe(0);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('asks storage for the range only', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: object.length, ETag: etag });
    s3.on(GetObjectCommand).callsFake((input: { Range?: string; IfMatch?: string }) => {
      expect(input.Range).toBe('bytes=100-199');
      expect(input.IfMatch).toBe(etag);
      return {
        Body: sdkStreamMixin(Readable.from([object.subarray(100, 200)])),
        ContentLength: 100,
        ContentRange: `bytes 100-199/${object.length}`,
        ETag: etag,
      };
    });
    const response = await app.inject({
      url: '/tasks/42/image',
      headers: { range: 'bytes=100-199' },
    });
    expect(response.statusCode).toBe(206);
    expect(response.headers['content-range']).toBe(`bytes 100-199/${object.length}`);
    expect(sha256(response.rawPayload)).toBe(sha256(object.subarray(100, 200)));
  });

  it.each([
    [404, 'NoSuchKey', 404, 'Image not found'],
    [404, 'NoSuchBucket', 404, 'Image not found'],
    [403, 'AccessDenied', 502, 'Failed to get the image'],
    [500, 'InternalError', 502, 'Failed to get the image'],
  ])(
    'maps storage %i %s to %i without leaking the SDK message',
    async (status, name, expected, detail) => {
      s3.on(GetObjectCommand).rejects(storageError(status, name));
      const response = await app.inject({ url: '/tasks/7/image' });
      expect(response.statusCode).toBe(expected);
      expect(response.json()).toEqual({ detail });
      expect(response.body).not.toMatch(/secret|10\.0\.0\.7|AKID/);
    },
  );

  it('rejects a task id that is not a non-negative decimal integer with a FastAPI-shaped 422', async () => {
    const response = await app.inject({ url: '/tasks/-1/image' });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual({
      detail: [
        {
          loc: ['path', 'task_id'],
          msg: 'Input should be a valid integer, unable to parse string as an integer',
          type: 'int_parsing',
        },
      ],
    });
    expect(s3.calls()).toHaveLength(0);
  });
});
