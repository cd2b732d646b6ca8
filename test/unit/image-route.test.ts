import { afterEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../dev/pattern.js';
import { pathParamIssue } from '../helpers/http-client.js';
import { mockedAppPerTest } from '../helpers/mocked-app.js';

// In the original's style: the storage is mocked (undici's MockAgent in front of the S3 client's
// requests), the route is exercised in-process.
const ENDPOINT = 'http://s3.test:9000';
const object = Buffer.alloc(5 * 64 * 1024, 'x');
const etag = '"5d41402abc4b2a76b9719d911017c592"';
const lastModified = new Date('2026-11-30T10:00:00Z');
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

function errorDocument(code: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>secret internals of ${code} at 10.0.0.7 with AKIDEXAMPLE</Message></Error>`;
}

describe('image route with a mocked S3 endpoint', () => {
  const mocked = mockedAppPerTest('s3Dispatcher', {
    STORAGE_BACKEND: 's3',
    AWS_ENDPOINT_URL: ENDPOINT,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: SECRET,
  });
  afterEach(() => mocked.agent.assertNoPendingInterceptors());

  const s3 = () => mocked.agent.get(ENDPOINT);

  it('streams the object with the documented headers, from a signed path-style GET', async () => {
    let seen: Record<string, string> = {};
    s3()
      .intercept({ path: '/images/test/42/image.jpg', method: 'GET' })
      .reply((options) => {
        seen = options.headers as Record<string, string>;
        return {
          statusCode: 200,
          data: object,
          responseOptions: {
            headers: {
              'content-length': String(object.length),
              etag,
              'last-modified': lastModified.toUTCString(),
              'content-type': 'binary/octet-stream',
            },
          },
        };
      });
    const response = await mocked.app.inject({ method: 'GET', url: '/tasks/42/image' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('image/jpeg');
    expect(response.headers['content-length']).toBe(String(object.length));
    expect(response.headers.etag).toBe(etag);
    expect(response.headers['last-modified']).toBe(lastModified.toUTCString());
    expect(response.headers['accept-ranges']).toBe('bytes');
    expect(sha256(response.rawPayload)).toBe(sha256(object));
    expect(seen.host).toBe('s3.test:9000');
    expect(seen['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(seen.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
  });

  it('answers HEAD from HeadObject without opening the body', async () => {
    s3()
      .intercept({ path: '/images/test/42/image.jpg', method: 'HEAD' })
      .reply(200, '', {
        headers: {
          'content-length': String(object.length),
          etag,
          'last-modified': lastModified.toUTCString(),
        },
      });
    const response = await mocked.app.inject({ method: 'HEAD', url: '/tasks/42/image' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe(String(object.length));
    expect(response.headers.etag).toBe(etag);
    expect(response.rawPayload.length).toBe(0);
  });

  it('asks storage for the range only, with If-Match on the ETag', async () => {
    s3()
      .intercept({ path: '/images/test/42/image.jpg', method: 'HEAD' })
      .reply(200, '', { headers: { 'content-length': String(object.length), etag } });
    s3()
      .intercept({
        path: '/images/test/42/image.jpg',
        method: 'GET',
        headers: { range: 'bytes=100-199', 'if-match': etag },
      })
      .reply(206, object.subarray(100, 200), {
        headers: {
          'content-length': '100',
          'content-range': `bytes 100-199/${object.length}`,
          etag,
        },
      });
    const response = await mocked.app.inject({
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
    [403, 'SignatureDoesNotMatch', 502, 'Failed to get the image'],
    [403, 'InvalidAccessKeyId', 502, 'Failed to get the image'],
    [500, 'InternalError', 502, 'Failed to get the image'],
  ])(
    'maps storage %i %s to %i without leaking the storage message',
    async (status, code, expected, detail) => {
      // Retryable failures are asked three times (RETRY_ATTEMPTS=2).
      const times = status >= 500 ? 3 : 1;
      s3()
        .intercept({ path: '/images/test/7/image.jpg', method: 'GET' })
        .reply(status, errorDocument(code), { headers: { 'content-type': 'application/xml' } })
        .times(times);
      const response = await mocked.app.inject({ url: '/tasks/7/image' });
      expect(response.statusCode).toBe(expected);
      expect(response.json()).toEqual({ detail });
      expect(response.body).not.toMatch(/secret|10\.0\.0\.7|AKID/);
    },
  );

  it('rejects a task id that is not a non-negative decimal integer with a FastAPI-shaped 422', async () => {
    const response = await mocked.app.inject({ url: '/tasks/-1/image' });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual(
      pathParamIssue(
        'task_id',
        'Input should be a valid integer, unable to parse string as an integer',
        'int_parsing',
      ),
    );
    // No interceptor is set: a request to storage would fail the test with a MockNotMatchedError.
  });
});
