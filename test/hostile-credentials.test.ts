import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalUpstream, startLocalUpstream } from '../dev/upstream-server.js';
import { signUrl } from '../src/auth/signed-url.js';
import {
  AUDIENCE,
  type ImageStore,
  ISSUER,
  imageStore,
  type JwksServer,
  type KeyFile,
  keyFile,
  type LoggedGateway,
  publicJwk,
  signedUrlKeys,
  startJwksServer,
  startLoggedGateway,
  token,
} from './helpers/access-fixtures.js';
import { download } from './helpers/http-client.js';

/** Everything that must never reach a log line: secrets, tokens, signatures. */
const secrets = new Set<string>();

/** A fresh random secret of `bytes` bytes, remembered as one. */
function newSecret(bytes = 32): string {
  const value = randomBytes(bytes).toString('base64url');
  secrets.add(value);
  return value;
}

const API_KEY = `ak_${newSecret(24)}`;
const JWT_SECRET = newSecret();
const KEY = { kid: 'main', secret: newSecret() };
const SECOND_KEY = { kid: 'second', secret: newSecret() };
const secret = new TextEncoder().encode(JWT_SECRET);

function remember(jwt: string): string {
  // A signature segment alone is searched for too; short ones would match ordinary words.
  for (const part of [jwt, jwt.split('.')[2]]) if (part && part.length >= 16) secrets.add(part);
  return jwt;
}

function rememberUrl(url: string): string {
  const sig = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('sig');
  if (sig) secrets.add(sig);
  return url;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

interface Attempt {
  gateway: 'main' | 'pem' | 'jwks';
  path: string;
  method?: string;
  headers?: Record<string, string>;
}

type Expected =
  | [401, 'Not authenticated']
  | [403, 'Forbidden']
  | [412, 'Precondition Failed']
  | [431, 'Request Header Fields Too Large'];

describe('hostile credentials', () => {
  let store: ImageStore;
  let upstream: LocalUpstream;
  let jwks: JwksServer;
  let rsa: KeyFile;
  const gateways: Record<string, LoggedGateway> = {};

  beforeAll(async () => {
    [store, upstream, jwks] = await Promise.all([
      imageStore(),
      startLocalUpstream(),
      startJwksServer(),
    ]);
    rsa = await keyFile(store.dataDir, 'rsa');
    jwks.setKeys([await publicJwk(rsa.privateKey, 'rsa1', 'RS256')]);
    const jwtEnv = { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
    const base = { DATA_DIR: store.dataDir, UPSTREAM_BASE_URL: upstream.baseUrl };
    [gateways.main, gateways.pem, gateways.jwks] = await Promise.all([
      startLoggedGateway({
        ...base,
        ...jwtEnv,
        API_KEYS: API_KEY,
        JWT_SECRET,
        SIGNED_URL_KEYS: signedUrlKeys(KEY, SECOND_KEY),
      }),
      startLoggedGateway({ ...base, ...jwtEnv, JWT_PUBLIC_KEY_FILE: rsa.pemFile }),
      startLoggedGateway({ ...base, ...jwtEnv, JWT_JWKS_URL: jwks.url }),
    ]);
    // The JWKS gateway fetches its keys once, on a valid token.
    const valid = remember(await token(rsa.privateKey, 'RS256', {}, { kid: 'rsa1' }));
    const answer = await download(`${gateways.jwks?.url}/tasks/1/image`, {
      headers: { authorization: `Bearer ${valid}` },
    });
    expect(answer.status).toBe(200);
  });

  afterAll(async () => {
    await Promise.all(Object.values(gateways).map((gateway) => gateway.close()));
    await Promise.all([upstream?.stop(), jwks?.close()]);
    if (store) await rm(store.dataDir, { recursive: true, force: true });
  });

  const bearer = (jwt: string) => ({ authorization: `Bearer ${remember(jwt)}` });
  const signed = (target: string, options = {}) => rememberUrl(signUrl(target, KEY, options));

  const corpus: Array<[string, () => Promise<Attempt>, Expected]> = [
    [
      'alg none',
      async () => {
        const header = b64({ alg: 'none', typ: 'JWT' });
        const claims = b64({ iss: ISSUER, aud: AUDIENCE, exp: now() + 300, tasks: '*' });
        return { gateway: 'main', path: '/tasks/1/image', headers: bearer(`${header}.${claims}.`) };
      },
      [401, 'Not authenticated'],
    ],
    [
      'HS256 with the RSA public key PEM as the HMAC secret',
      async () => {
        const jwt = await token(new TextEncoder().encode(rsa.pem), 'HS256');
        return { gateway: 'pem', path: '/tasks/1/image', headers: bearer(jwt) };
      },
      [401, 'Not authenticated'],
    ],
    [
      'HS256 with the RSA public key PEM, naming the JWKS kid',
      async () => {
        const jwt = await token(new TextEncoder().encode(rsa.pem), 'HS256', {}, { kid: 'rsa1' });
        return { gateway: 'jwks', path: '/tasks/1/image', headers: bearer(jwt) };
      },
      [401, 'Not authenticated'],
    ],
    [
      'expired',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: bearer(await token(secret, 'HS256', { exp: now() - 3600 })),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'not yet valid (nbf)',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: bearer(await token(secret, 'HS256', { nbf: now() + 3600 })),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'wrong issuer',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: bearer(await token(secret, 'HS256', { iss: 'https://evil.test' })),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'wrong audience',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: bearer(await token(secret, 'HS256', { aud: 'another-service' })),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'no exp',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: bearer(await token(secret, 'HS256', { exp: undefined })),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'payload swapped under another token’s signature',
      async () => {
        const narrow = remember(await token(secret, 'HS256', { tasks: [1] }));
        const wide = remember(await token(secret, 'HS256', { tasks: '*', sub: 'other' }));
        const [header, , signature] = narrow.split('.');
        const swapped = `${header}.${wide.split('.')[1]}.${signature}`;
        return { gateway: 'main', path: '/tasks/2/image', headers: bearer(swapped) };
      },
      [401, 'Not authenticated'],
    ],
    [
      'signed with another secret',
      async () => {
        const jwt = await token(randomBytes(32), 'HS256');
        return { gateway: 'main', path: '/tasks/1/image', headers: bearer(jwt) };
      },
      [401, 'Not authenticated'],
    ],
    [
      'a bearer that is not a JWT',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: bearer(`not.a.${randomBytes(16).toString('base64url')}`),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'a kid with a path in it, against the JWKS',
      async () => {
        const jwt = await token(rsa.privateKey, 'RS256', {}, { kid: '../../etc/passwd' });
        return { gateway: 'jwks', path: '/tasks/1/image', headers: bearer(jwt) };
      },
      [401, 'Not authenticated'],
    ],
    [
      'an unknown kid, against the JWKS',
      async () => {
        const jwt = await token(rsa.privateKey, 'RS256', {}, { kid: 'rotated-away' });
        return { gateway: 'jwks', path: '/tasks/1/image', headers: bearer(jwt) };
      },
      [401, 'Not authenticated'],
    ],
    [
      'a token for task 1 on task 2',
      async () => ({
        gateway: 'main',
        path: '/tasks/2/image',
        headers: bearer(await token(secret, 'HS256', { tasks: [1] })),
      }),
      [403, 'Forbidden'],
    ],
    [
      'an oversized token (validly signed)',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: bearer(await token(secret, 'HS256', { pad: 'x'.repeat(9000) })),
      }),
      [431, 'Request Header Fields Too Large'],
    ],
    [
      'an oversized x-api-key',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: { 'x-api-key': `${API_KEY}${'a'.repeat(9000)}` },
      }),
      [431, 'Request Header Fields Too Large'],
    ],
    [
      'an Authorization header above Node’s 16 KiB limit',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: { authorization: `Bearer ${'a'.repeat(17_000)}` },
      }),
      [431, 'Request Header Fields Too Large'],
    ],
    [
      'a wrong API key',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: { 'x-api-key': API_KEY.toUpperCase() },
      }),
      [401, 'Not authenticated'],
    ],
    [
      'the API key with a byte missing',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: { 'x-api-key': API_KEY.slice(0, -1) },
      }),
      [401, 'Not authenticated'],
    ],
    [
      'Basic credentials',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: { authorization: `Basic ${Buffer.from(`user:${API_KEY}`).toString('base64')}` },
      }),
      [401, 'Not authenticated'],
    ],
    [
      'an empty bearer',
      async () => ({
        gateway: 'main',
        path: '/tasks/1/image',
        headers: { authorization: 'Bearer ' },
      }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL replayed after its expiry',
      async () => ({
        gateway: 'main',
        path: signed('/tasks/1/image', { now: Date.now() - 600_000, ttlSeconds: 300 }),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL moved to another task',
      async () => ({ gateway: 'main', path: signed('/tasks/1/image').replace('/1/', '/2/') }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL moved to another size',
      async () => ({
        gateway: 'main',
        path: signed('/tasks/1/bytes/100').replace('/100?', '/200?'),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL with download added',
      async () => ({ gateway: 'main', path: `${signed('/tasks/1/image')}&download=1` }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL with download dropped',
      async () => ({
        gateway: 'main',
        path: signed('/tasks/1/image?download=1').replace('download=1&', ''),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL with its expiry pushed',
      async () => ({
        gateway: 'main',
        path: signed('/tasks/1/image').replace(
          /exp=(\d+)/,
          (_, exp) => `exp=${Number(exp) + 3600}`,
        ),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL with its signature altered',
      async () => ({
        gateway: 'main',
        path: signed('/tasks/1/image').replace(/sig=(.)/, (_, c) => `sig=${c === 'A' ? 'B' : 'A'}`),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL with an unknown kid',
      async () => {
        const url = signUrl('/tasks/1/image', { kid: 'gone', secret: KEY.secret });
        return { gateway: 'main', path: rememberUrl(url) };
      },
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL with its kid swapped to the other key',
      async () => ({
        gateway: 'main',
        path: signed('/tasks/1/image').replace('kid=main', 'kid=second'),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL valid for more than 7 days',
      async () => ({
        gateway: 'main',
        path: signed('/tasks/1/image', { now: Date.now() + 86_400_000, ttlSeconds: 7 * 86_400 }),
      }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL with a second sig',
      async () => {
        const url = signed('/tasks/1/image');
        return { gateway: 'main', path: `${url}&sig=${url.slice(url.indexOf('sig=') + 4)}` };
      },
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL used with POST',
      async () => ({ gateway: 'main', path: signed('/tasks/1/image'), method: 'POST' }),
      [401, 'Not authenticated'],
    ],
    [
      'a signed URL pinned to a stale ETag',
      async () => {
        await store.put(4, randomBytes(5_000));
        const head = await download(`${gateways.main?.url}/tasks/4/image`, {
          method: 'HEAD',
          headers: { 'x-api-key': API_KEY },
        });
        const path = signed('/tasks/4/image', { etag: head.headers.etag });
        await store.put(4, randomBytes(5_001));
        return { gateway: 'main', path, headers: { range: 'bytes=0-9' } };
      },
      [412, 'Precondition Failed'],
    ],
  ];

  it.each(corpus)('%s', async (_name, attempt, [status, detail]) => {
    const { gateway, path, method = 'GET', headers = {} } = await attempt();
    const answer = await download(`${gateways[gateway]?.url}${path}`, { method, headers });
    expect(answer.status).toBe(status);
    expect(answer.json).toEqual({ detail });
    expect(answer.headers['www-authenticate']).toBe(status === 401 ? 'Bearer' : undefined);
  });

  it('never fetched a JWKS URL but its own, nor more than once within the cooldown', () => {
    expect(jwks.paths).toEqual(['/jwks.json']);
  });

  it('logged which check failed, and no secret, token or signature', () => {
    const lines = Object.values(gateways).flatMap((gateway) => gateway.logLines);
    const checks = lines.flatMap((line) => {
      const entry = JSON.parse(line) as { access?: string };
      return entry.access === undefined ? [] : [entry.access];
    });
    expect(new Set(checks)).toEqual(
      new Set([
        'jwt-algorithm-not-allowed',
        'jwt-expired',
        'jwt-claim-invalid',
        'jwt-bad-signature',
        'jwt-unknown-kid',
        'jwt-task-out-of-scope',
        'jwt-malformed',
        'credential-too-large',
        'credential-malformed',
        'api-key-mismatch',
        'signed-url-expired',
        'signed-url-bad-signature',
        'signed-url-unknown-kid',
        'signed-url-expiry-too-far',
        'signed-url-malformed',
        'signed-url-method-not-allowed',
      ]),
    );
    expect(secrets.size).toBeGreaterThan(30);
    for (const value of secrets) {
      const leaking = lines.filter((line) => line.includes(value));
      expect(leaking, `a log line holds ${value.slice(0, 6)}…`).toEqual([]);
    }
  });
});
