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
