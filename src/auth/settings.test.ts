import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings, SettingsError } from '../settings.js';
import { accessControlEnabled } from './access-check.js';
import { loadAccessSettings } from './settings.js';

const dir = mkdtempSync(path.join(tmpdir(), 'streamgate-auth-settings-'));
function file(name: string, content: string): string {
  const target = path.join(dir, name);
  writeFileSync(target, content);
  return target;
}
const pem = (pair: { publicKey: { export(o: object): string | Buffer } }) =>
  pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const SECRET = 's'.repeat(32);
const JWT = { JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'streamgate' };

describe('access settings', () => {
  it('are all off by default', () => {
    const access = loadSettings({}).access;
    expect(access).toEqual({
      apiKeyDigests: [],
      jwt: undefined,
      signedUrlKeys: [],
      metricsToken: undefined,
      corsOrigins: undefined,
    });
    expect(accessControlEnabled(access)).toBe(false);
  });

  it('read keys from API_KEYS and API_KEYS_FILE, keeping only their digests', () => {
    const keys = file('keys', '# comment\nfile-key-0123456789\n\n  second-file-key-0123  \n');
    const access = loadAccessSettings({ API_KEYS: 'inline-key-0123456789', API_KEYS_FILE: keys });
    expect(access.apiKeyDigests).toHaveLength(3);
    expect(JSON.stringify(access)).not.toContain('file-key');
    expect(accessControlEnabled(access)).toBe(true);
  });

  it('derive the JWT algorithm from the key', () => {
    const cases = [
      [generateKeyPairSync('rsa', { modulusLength: 2048 }), 'RS256'],
      [generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'],
      [generateKeyPairSync('ed25519'), 'EdDSA'],
    ] as const;
    for (const [pair, algorithm] of cases) {
      const env = { JWT_PUBLIC_KEY_FILE: file(`${algorithm}.pem`, pem(pair)), ...JWT };
      expect(loadAccessSettings(env).jwt?.key).toMatchObject({ kind: 'public-key', algorithm });
    }
    expect(loadAccessSettings({ JWT_SECRET: SECRET, ...JWT }).jwt).toMatchObject({
      key: { kind: 'secret' },
      clockToleranceS: 30,
    });
    expect(
      loadAccessSettings({ JWT_JWKS_URL: 'http://127.0.0.1:1/jwks', ...JWT }).jwt?.key,
    ).toEqual({
      kind: 'jwks',
      url: new URL('http://127.0.0.1:1/jwks'),
      cooldownMs: 60_000,
    });
  });

  it('read signed-URL keys in order, and CORS origins', () => {
    const access = loadAccessSettings({
      SIGNED_URL_KEYS: `new:${SECRET}, old:${SECRET}x`,
      CORS_ORIGINS: 'https://a.test, http://b.test:8080',
    });
    expect(access.signedUrlKeys.map((key) => key.kid)).toEqual(['new', 'old']);
    expect(access.corsOrigins).toEqual(['https://a.test', 'http://b.test:8080']);
    expect(loadAccessSettings({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
  });

  const weakRsa = pem(generateKeyPairSync('rsa', { modulusLength: 1024 }));
  const p384 = pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }));
  it.each([
    ['API_KEYS', { API_KEYS: 'short' }],
    ['API_KEYS', { API_KEYS: 'has a space in it 0123' }],
    ['API_KEYS_FILE', { API_KEYS_FILE: path.join(dir, 'absent') }],
    ['API_KEYS_FILE', { API_KEYS_FILE: 'EMPTY' }],
    ['JWT_SECRET', { JWT_SECRET: 'too-short-secret', ...JWT }],
    ['JWT_SECRET', { JWT_SECRET: SECRET, JWT_JWKS_URL: 'http://x/jwks', ...JWT }],
    ['JWT_ISSUER', { JWT_SECRET: SECRET, JWT_AUDIENCE: 'a' }],
    ['JWT_AUDIENCE', { JWT_SECRET: SECRET, JWT_ISSUER: 'i' }],
    ['JWT_CLOCK_TOLERANCE_S', { JWT_SECRET: SECRET, ...JWT, JWT_CLOCK_TOLERANCE_S: '-1' }],
    ['JWT_PUBLIC_KEY_FILE', { JWT_PUBLIC_KEY_FILE: 'NOT_PEM', ...JWT }],
    ['JWT_PUBLIC_KEY_FILE', { JWT_PUBLIC_KEY_FILE: 'WEAK_RSA', ...JWT }],
    ['JWT_PUBLIC_KEY_FILE', { JWT_PUBLIC_KEY_FILE: 'P384', ...JWT }],
    ['JWT_JWKS_URL', { JWT_JWKS_URL: 'file:///etc/jwks', ...JWT }],
    ['JWT_JWKS_URL', { JWT_JWKS_URL: 'https://svc:hunter2@idp.test/jwks', ...JWT }],
    ['JWT_JWKS_COOLDOWN_S', { JWT_JWKS_URL: 'http://x/j', ...JWT, JWT_JWKS_COOLDOWN_S: '0' }],
    ['SIGNED_URL_KEYS', { SIGNED_URL_KEYS: SECRET }],
    ['SIGNED_URL_KEYS', { SIGNED_URL_KEYS: 'k1:short-secret' }],
    ['SIGNED_URL_KEYS', { SIGNED_URL_KEYS: `bad kid:${SECRET}` }],
    ['SIGNED_URL_KEYS', { SIGNED_URL_KEYS: `k:${SECRET},k:${SECRET}` }],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'short' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://a.test/' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'a.test' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'ftp://a.test' }],
  ])('names %s when it is bad, without echoing a secret', (variable, env) => {
    const files: Record<string, string> = {
      EMPTY: file('empty', '\n# nothing\n'),
      NOT_PEM: file('not.pem', 'hello'),
      WEAK_RSA: file('weak.pem', weakRsa),
      P384: file('p384.pem', p384),
    };
    const resolved = Object.fromEntries(
      Object.entries(env).map(([name, value]) => [name, files[value] ?? value]),
    );
    expect(() => loadSettings(resolved)).toThrow(SettingsError);
    expect(() => loadSettings(resolved)).toThrow(`invalid setting ${variable}:`);
    try {
      loadSettings(resolved);
    } catch (error) {
      expect((error as Error).message).not.toContain(SECRET);
      expect((error as Error).message).not.toContain('short-secret');
    }
  });
});
