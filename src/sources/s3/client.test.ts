import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../errors.js';
import { bucketAddress, S3BucketClient } from './client.js';
import { CachedCredentials } from './credentials.js';

describe('bucketAddress', () => {
  it('uses virtual-hosted style on AWS by default', () => {
    expect(
      bucketAddress({ endpoint: undefined, region: 'eu-west-3', forcePathStyle: false }, 'photos'),
    ).toEqual({
      origin: 'https://photos.s3.eu-west-3.amazonaws.com',
      host: 'photos.s3.eu-west-3.amazonaws.com',
      bucketPath: '/',
    });
  });

  it('uses path style when forced, with the endpoint port in the host', () => {
    expect(
      bucketAddress(
        { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true },
        'images',
      ),
    ).toEqual({ origin: 'http://127.0.0.1:9000', host: '127.0.0.1:9000', bucketPath: '/images' });
  });

  it.each([
    ['http://127.0.0.1:9000', '127.0.0.1:9000'],
    ['http://[::1]:9000', '[::1]:9000'],
  ])(
    'uses path style for an IP endpoint %s, where no bucket name can go before it',
    (endpoint, host) => {
      expect(
        bucketAddress({ endpoint, region: 'us-east-1', forcePathStyle: false }, 'images'),
      ).toEqual({ origin: `http://${host}`, host, bucketPath: '/images' });
    },
  );

  it('falls back to path style for names that cannot be a TLS host name', () => {
    const address = bucketAddress(
      { endpoint: undefined, region: 'us-east-1', forcePathStyle: false },
      'my.bucket',
    );
    expect(address).toEqual({
      origin: 'https://s3.us-east-1.amazonaws.com',
      host: 's3.us-east-1.amazonaws.com',
      bucketPath: '/my.bucket',
    });
  });
});

const ORIGIN = 'http://s3.test:9000';

describe('S3BucketClient with a mocked endpoint', () => {
  let agent: MockAgent;
  let client: S3BucketClient;

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    client = new S3BucketClient({
      address: bucketAddress({ endpoint: ORIGIN, region: 'us-east-1', forcePathStyle: true }, 'b'),
      region: 'us-east-1',
      dispatcher: agent,
      credentials: new CachedCredentials(async () => ({
        accessKeyId: 'AKID',
        secretAccessKey: 'TOP-SECRET',
        sessionToken: 'TOKEN',
      })),
    });
  });
  afterEach(async () => {
    await client.close();
  });

  const signal = () => new AbortController().signal;

  it('sends an encoded, signed request with the session token', async () => {
    let headers: Record<string, string> = {};
    agent
      .get(ORIGIN)
      .intercept({ path: '/b/a%20b/%C3%BC%2B%26.jpg', method: 'GET' })
      .reply((options) => {
        headers = options.headers as Record<string, string>;
        return { statusCode: 200, data: 'ok' };
      });
    const response = await client.request('GET', 'a b/ü+&.jpg', { range: 'bytes=0-1' }, signal());
    expect(await response.body.text()).toBe('ok');
    expect(headers['x-amz-security-token']).toBe('TOKEN');
    expect(headers.range).toBe('bytes=0-1');
    expect(headers.authorization).toContain(
      'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;x-amz-security-token',
    );
    expect(JSON.stringify(headers)).not.toContain('TOP-SECRET');
  });

  it('answers a key with a lone surrogate as not found, sending nothing', async () => {
    const error = (await client
      .request('GET', 'a\uD800b', {}, signal())
      .catch((e) => e)) as SourceError;
    expect(error).toBeInstanceOf(SourceError);
    expect(error.failure).toBe('not-found');
  });

  it('reads no more than a few KiB of an error body', async () => {
    const huge = `<Error><Code>SlowDown</Code>${'x'.repeat(1024 * 1024)}</Error>`;
    agent.get(ORIGIN).intercept({ path: '/b/k', method: 'GET' }).reply(503, huge);
    const error = (await client.request('GET', 'k', {}, signal()).catch((e) => e)) as SourceError;
    expect(error).toBeInstanceOf(SourceError);
    expect(error.message).toBe('storage answered 503 SlowDown');
    expect(error.retryable).toBe(true);
  });

  it('answers a 304 as a failure, not a crash', async () => {
    agent.get(ORIGIN).intercept({ path: '/b/k', method: 'GET' }).reply(304, '');
    const error = (await client.request('GET', 'k', {}, signal()).catch((e) => e)) as SourceError;
    expect(error.failure).toBe('unavailable');
    expect(error.message).toBe('storage answered 304');
  });

  it('maps a HEAD 404 (no body) to not-found and asks the bucket itself for HeadBucket', async () => {
    agent.get(ORIGIN).intercept({ path: '/b/k', method: 'HEAD' }).reply(404, '');
    agent.get(ORIGIN).intercept({ path: '/b', method: 'HEAD' }).reply(200, '');
    const error = (await client.request('HEAD', 'k', {}, signal()).catch((e) => e)) as SourceError;
    expect(error.failure).toBe('not-found');
    const bucket = await client.request('HEAD', undefined, {}, signal());
    expect(bucket.statusCode).toBe(200);
    await bucket.body.dump();
  });

  it('maps a refused connection to a retryable failure', async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: '/b/k', method: 'GET' })
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const error = (await client.request('GET', 'k', {}, signal()).catch((e) => e)) as SourceError;
    expect(error.failure).toBe('unavailable');
    expect(error.retryable).toBe(true);
  });
});
