import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SourceError } from '../../errors.js';
import { CachedCredentials, credentialsFor } from './credentials.js';
import type { Credentials } from './sigv4.js';

const MINUTE = 60_000;
const policy = { refreshBeforeMs: 5 * MINUTE, retryMs: 30_000 };

/** A provider that hands out numbered temporary credentials valid for `lifetimeMs`. */
function fakeProvider(lifetimeMs: number) {
  let calls = 0;
  let failing = false;
  const provider = vi.fn(async (): Promise<Credentials> => {
    calls++;
    if (failing) throw new Error('metadata service at 169.254.169.254 refused');
    return {
      accessKeyId: `KEY${calls}`,
      secretAccessKey: `secret${calls}`,
      sessionToken: `token${calls}`,
      expiration: new Date(Date.now() + lifetimeMs),
    };
  });
  return {
    provider,
    fail(value: boolean) {
      failing = value;
    },
  };
}

describe('CachedCredentials', () => {
  const caches: CachedCredentials[] = [];
  /** A cache over `provider`, closed when the test ends. */
  function cached(provider: () => Promise<Credentials>): CachedCredentials {
    const cache = new CachedCredentials(provider, policy);
    caches.push(cache);
    return cache;
  }

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    for (const cache of caches.splice(0)) cache.close();
    vi.useRealTimers();
  });

  it('resolves once for any number of requests, concurrent ones included', async () => {
    const { provider } = fakeProvider(60 * MINUTE);
    const cache = cached(provider);
    const all = await Promise.all([cache.get(), cache.get(), cache.get()]);
    for (let i = 0; i < 100; i++) expect((await cache.get()).accessKeyId).toBe('KEY1');
    expect(all.map((c) => c.accessKeyId)).toEqual(['KEY1', 'KEY1', 'KEY1']);
    expect(provider).toHaveBeenCalledTimes(1);
  });

  it('refreshes in the background five minutes before expiration', async () => {
    const { provider } = fakeProvider(60 * MINUTE);
    const cache = cached(provider);
    await cache.get();
    await vi.advanceTimersByTimeAsync(55 * MINUTE - 1);
    expect(provider).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(provider).toHaveBeenCalledTimes(2);
    expect((await cache.get()).accessKeyId).toBe('KEY2');
    // And again before the new ones expire.
    await vi.advanceTimersByTimeAsync(55 * MINUTE);
    expect((await cache.get()).accessKeyId).toBe('KEY3');
  });

  it('asks again after a pause, not in a loop, for credentials given inside the window', async () => {
    const { provider } = fakeProvider(4 * MINUTE);
    const cache = cached(provider);
    await cache.get();
    await vi.advanceTimersByTimeAsync(30_000 - 1);
    expect(provider).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(provider).toHaveBeenCalledTimes(2);
    expect((await cache.get()).accessKeyId).toBe('KEY2');
  });

  it('keeps the old credentials while refreshes fail, until they expire', async () => {
    const fake = fakeProvider(60 * MINUTE);
    const cache = cached(fake.provider);
    await cache.get();
    fake.fail(true);
    await vi.advanceTimersByTimeAsync(55 * MINUTE);
    expect(fake.provider).toHaveBeenCalledTimes(2);
    expect((await cache.get()).accessKeyId).toBe('KEY1');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(fake.provider).toHaveBeenCalledTimes(3);
    expect((await cache.get()).accessKeyId).toBe('KEY1');
    // Expired: a request now asks the provider itself, and fails without its message.
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    const failure = await Promise.resolve(cache.get()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SourceError);
    expect((failure as SourceError).failure).toBe('unavailable');
    expect((failure as SourceError).message).not.toMatch(/169\.254/);
    fake.fail(false);
    expect((await cache.get()).accessKeyId).toMatch(/^KEY\d+$/);
  });

  it('never refreshes long-lived keys', async () => {
    const provider = vi.fn(async () => ({ accessKeyId: 'A', secretAccessKey: 'B' }));
    const cache = cached(provider);
    await cache.get();
    await vi.advanceTimersByTimeAsync(48 * 60 * MINUTE);
    await cache.get();
    expect(provider).toHaveBeenCalledTimes(1);
  });

  it('stops refreshing once closed', async () => {
    const { provider } = fakeProvider(10 * MINUTE);
    const cache = cached(provider);
    await cache.get();
    cache.close();
    await vi.advanceTimersByTimeAsync(60 * MINUTE);
    expect(provider).toHaveBeenCalledTimes(1);
  });

  it('uses the static keys of the settings when both are set, with their session token', async () => {
    const settings = {
      endpoint: undefined,
      accessKeyId: 'AKID',
      secretAccessKey: 'SECRET',
      sessionToken: undefined,
      region: 'us-east-1',
      tlsVerify: true,
      forcePathStyle: false,
      maxSockets: 1,
    };
    const cache = credentialsFor(settings);
    expect(await cache.get()).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'SECRET' });
    cache.close();
    const temporary = credentialsFor({ ...settings, sessionToken: 'TOKEN' });
    expect(await temporary.get()).toEqual({
      accessKeyId: 'AKID',
      secretAccessKey: 'SECRET',
      sessionToken: 'TOKEN',
    });
    temporary.close();
  });
});

describe('credentialsFor without static keys', () => {
  it('asks the AWS default provider chain, which reads the environment', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'CHAINKEY',
      AWS_SECRET_ACCESS_KEY: 'CHAINSECRET',
      AWS_SESSION_TOKEN: 'CHAINTOKEN',
    });
    try {
      const cache = credentialsFor({
        endpoint: undefined,
        accessKeyId: undefined,
        secretAccessKey: undefined,
        sessionToken: undefined,
        region: 'us-east-1',
        tlsVerify: true,
        forcePathStyle: false,
        maxSockets: 1,
      });
      const credentials = await cache.get();
      expect(credentials).toMatchObject({
        accessKeyId: 'CHAINKEY',
        secretAccessKey: 'CHAINSECRET',
        sessionToken: 'CHAINTOKEN',
      });
      cache.close();
    } finally {
      process.env = saved;
    }
  });
});
