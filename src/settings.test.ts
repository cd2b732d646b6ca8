import { describe, expect, it } from 'vitest';
import { LOG_LEVELS, loadSettings, SettingsError } from './settings.js';

describe('loadSettings', () => {
  it('has the documented defaults', () => {
    const settings = loadSettings({});
    expect(settings).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      storageBackend: 'fs',
      dataDir: './data',
      imageBucket: 'images',
      upstreamBaseUrl: 'http://httpbin.org',
      maxStreamBytes: 1024 ** 3,
      s3: { tlsVerify: true, forcePathStyle: false, endpoint: undefined },
    });
    expect(Object.isFrozen(settings)).toBe(true);
    expect(Object.isFrozen(settings.s3)).toBe(true);
    expect(Object.isFrozen(settings.timeouts)).toBe(true);
  });

  it('turns path-style addressing on when an endpoint is set', () => {
    const settings = loadSettings({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000/' });
    expect(settings.s3.endpoint).toBe('http://127.0.0.1:9000');
    expect(settings.s3.forcePathStyle).toBe(true);
    expect(
      loadSettings({ AWS_ENDPOINT_URL: 'http://x', S3_FORCE_PATH_STYLE: 'false' }).s3
        .forcePathStyle,
    ).toBe(false);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['STORAGE_BACKEND', 'gcs'],
    ['AWS_TLS_VERIFY', 'maybe'],
    ['AWS_ENDPOINT_URL', 'ftp://host'],
    ['UPSTREAM_BASE_URL', 'not a url'],
    ['MAX_STREAM_BYTES', '-1'],
    ['IMAGE_KEY_TEMPLATE', 'images/static.jpg'],
  ])('names %s when its value %j is bad', (variable, value) => {
    expect(() => loadSettings({ [variable]: value })).toThrow(SettingsError);
    expect(() => loadSettings({ [variable]: value })).toThrow(`invalid setting ${variable}:`);
  });

  it.each([
    ['UPSTREAM_BASE_URL', 'http://user:hunter2@upstream.internal'],
    ['AWS_ENDPOINT_URL', 'http://127.0.0.1:9000/?x-id=1'],
    ['UPSTREAM_BASE_URL', 'http://upstream.internal/#top'],
  ])('refuses %s %j, whose login or query would be dropped, without echoing it', (name, url) => {
    const load = () => loadSettings({ [name]: url });
    expect(load).toThrow('expected an http(s) URL without a login, query or fragment');
    expect(load).not.toThrow(/hunter2/);
  });

  it.each(LOG_LEVELS)('takes pino level %s in any case, as lower case', (level) => {
    expect(loadSettings({ LOG_LEVEL: level }).logLevel).toBe(level);
    expect(loadSettings({ LOG_LEVEL: level.toUpperCase() }).logLevel).toBe(level);
  });

  it('logs at info by default', () => {
    expect(loadSettings({}).logLevel).toBe('info');
    expect(loadSettings({ LOG_LEVEL: '' }).logLevel).toBe('info');
  });

  it.each(['verbose', 'warning', 'INFO ', '30', 'off'])(
    'refuses LOG_LEVEL %j in one line',
    (value) => {
      expect(() => loadSettings({ LOG_LEVEL: value })).toThrow(
        new SettingsError(
          'LOG_LEVEL',
          `expected one of fatal, error, warn, info, debug, trace, silent, got "${value}"`,
        ),
      );
    },
  );
});

describe('settings that become response headers', () => {
  it.each([
    ['a trailing LF (a YAML block scalar)', 'public, max-age=60\n'],
    ['CR LF and a second header', 'no-cache\r\nset-cookie: x=1'],
    ['a NUL', 'no\x00cache'],
    ['DEL', 'no-cache\x7f'],
    ['a character beyond latin-1', 'max-age=60 €'],
  ])('refuses CACHE_CONTROL with %s in one line, without echoing it', (_case, value) => {
    const load = () => loadSettings({ CACHE_CONTROL: value });
    expect(load).toThrow(
      new SettingsError('CACHE_CONTROL', 'expected a value valid in an HTTP header'),
    );
  });

  it.each(['public, max-age=60', 'private,\tmax-age=0', 'no-store'])(
    'takes CACHE_CONTROL %j as given',
    (value) => {
      expect(loadSettings({ CACHE_CONTROL: value }).cacheControl).toBe(value);
    },
  );
});

describe('UPSTREAM_PATH_TEMPLATE', () => {
  it.each(['stream-bytes/{size}', '{size}', 'http://elsewhere/{size}'])(
    'refuses %j, which is no path beginning with /',
    (value) => {
      expect(() => loadSettings({ UPSTREAM_PATH_TEMPLATE: value })).toThrow(
        new SettingsError('UPSTREAM_PATH_TEMPLATE', 'must begin with /'),
      );
    },
  );

  // Every key made from one would be refused by the upstream source: each request a 404.
  it.each([
    '/stream-bytes/{size}?seed=1',
    '/bytes/{size}#part',
    '/files\\{size}',
    '/public/../admin/{size}',
    '/./{size}',
    '/a/%2E%2e/{size}',
  ])('refuses %j, which would not stay below the base URL', (value) => {
    expect(() => loadSettings({ UPSTREAM_PATH_TEMPLATE: value })).toThrow(
      new SettingsError(
        'UPSTREAM_PATH_TEMPLATE',
        'must be a path without ?, #, backslashes or . and .. segments',
      ),
    );
  });

  it.each(['/range/{size}', '/v1.2/files/{size}.bin', '/...{size}'])(
    'takes the path %j below the base URL',
    (value) => {
      expect(loadSettings({ UPSTREAM_PATH_TEMPLATE: value }).upstreamPathTemplate).toBe(value);
    },
  );
});

describe('TRUST_PROXY', () => {
  it('trusts no proxy by default: the client is the socket peer', () => {
    expect(loadSettings({}).trustProxy).toEqual([]);
    expect(loadSettings({ TRUST_PROXY: ' , ' }).trustProxy).toEqual([]);
  });

  it('takes addresses, CIDR ranges and named ranges, comma-separated', () => {
    expect(
      loadSettings({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.7,loopback , fd00::/8, uniquelocal' })
        .trustProxy,
    ).toEqual(['10.0.0.0/8', '192.0.2.7', 'loopback', 'fd00::/8', 'uniquelocal']);
  });

  it.each(['true', '1', '2', '10.1', 'lb.internal', '10.0.0.0/33', '300.1.1.1', '10.0.0.1,nope'])(
    'refuses %j: no hop count, no trust-all, no host names',
    (value) => {
      expect(() => loadSettings({ TRUST_PROXY: value })).toThrow(
        new SettingsError(
          'TRUST_PROXY',
          'expected comma-separated IP addresses or CIDR ranges (or loopback, linklocal, uniquelocal)',
        ),
      );
    },
  );
});

describe('static S3 keys', () => {
  it.each([
    [{ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' }, 'AWS_SECRET_ACCESS_KEY'],
    [{ AWS_SECRET_ACCESS_KEY: 'secret' }, 'AWS_ACCESS_KEY_ID'],
    [{ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: '' }, 'AWS_SECRET_ACCESS_KEY'],
  ])('refuses one key of the pair (%j), naming both', (env, missing) => {
    expect(() => loadSettings(env)).toThrow(
      new SettingsError(
        missing,
        'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY together, or neither for the AWS default provider chain',
      ),
    );
  });

  it('refuses AWS_SESSION_TOKEN without the keys it belongs to', () => {
    expect(() => loadSettings({ AWS_SESSION_TOKEN: 'token' })).toThrow(
      new SettingsError(
        'AWS_SESSION_TOKEN',
        'needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (unset: the AWS default provider chain)',
      ),
    );
  });

  it('takes both keys, with or without a session token, or neither', () => {
    const keys = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
    expect(loadSettings(keys).s3).toMatchObject({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: undefined,
    });
    expect(loadSettings({ ...keys, AWS_SESSION_TOKEN: 'token' }).s3.sessionToken).toBe('token');
    expect(loadSettings({}).s3).toMatchObject({
      accessKeyId: undefined,
      secretAccessKey: undefined,
      sessionToken: undefined,
    });
  });
});

describe('STORAGE_BACKEND', () => {
  it.each([
    ['S3', 's3'],
    ['Fs', 'fs'],
    ['fs', 'fs'],
  ])('takes %j in any case, as %j', (value, backend) => {
    expect(loadSettings({ STORAGE_BACKEND: value }).storageBackend).toBe(backend);
  });
});
