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
  keyFile,
  type LoggedGateway,
  publicJwk,
  sha256Of,
  signedUrlKeys,
  signingKey,
  startJwksServer,
  startLoggedGateway,
  token,
} from './helpers/access-fixtures.js';
import { download } from './helpers/http-client.js';

const API_KEY = `ak_${randomBytes(24).toString('base64url')}`;
/** An API key may hold any visible ASCII but the list's comma, outside a bearer b64token too. */
const PUNCTUATED_KEY = `ak!$@;:"'*${randomBytes(12).toString('hex')}`;
const JWT_SECRET = randomBytes(32).toString('base64url');
const NEW_KEY = signingKey('k2026');
const OLD_KEY = signingKey('k2025');
const secret = new TextEncoder().encode(JWT_SECRET);

describe('access control', () => {
  let store: ImageStore;
  let upstream: LocalUpstream;
  let gateway: LoggedGateway;
  const cleanups: Array<() => Promise<unknown>> = [];

  const jwtEnv = { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
  const baseEnv = () => ({ DATA_DIR: store.dataDir, UPSTREAM_BASE_URL: upstream.baseUrl });

  async function start(env: Record<string, string>): Promise<LoggedGateway> {
    const started = await startLoggedGateway({ ...baseEnv(), ...env });
    cleanups.push(() => started.close());
    return started;
  }

  beforeAll(async () => {
    [store, upstream] = await Promise.all([imageStore(), startLocalUpstream()]);
    gateway = await start({
      API_KEYS: `other-key-0123456789,${API_KEY},${PUNCTUATED_KEY}`,
      JWT_SECRET,
      ...jwtEnv,
      SIGNED_URL_KEYS: signedUrlKeys(NEW_KEY, OLD_KEY),
    });
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await upstream?.stop();
    if (store) await rm(store.dataDir, { recursive: true, force: true });
  });

  const image = (task: number) => `${gateway.url}/tasks/${task}/image`;

  it('stays open when nothing is configured, as before', async () => {
    const open = await start({});
    const answer = await download(`${open.url}/tasks/1/image`);
    expect(answer.status).toBe(200);
    expect(answer.sha256).toBe(sha256Of(store.bytes[1] as Buffer));
  });

  it('keeps health, readiness and the docs open', async () => {
    for (const route of ['/healthz', '/readyz', '/openapi.json', '/docs/']) {
      const answer = await download(`${gateway.url}${route}`);
      expect(answer.status, route).toBe(200);
    }
  });

  it('declares the access methods in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as {
      components: { securitySchemes: Record<string, Record<string, string>> };
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    expect(doc.components.securitySchemes).toMatchObject({
      apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      bearer: { type: 'http', scheme: 'bearer' },
      signedUrl: { type: 'apiKey', in: 'query', name: 'sig' },
    });
    const methods = [{ apiKey: [] }, { bearer: [] }, { signedUrl: [] }];
    expect(doc.paths['/tasks/{task_id}/image']?.get?.security).toEqual(methods);
    expect(doc.paths['/tasks/{task_id}/bytes/{size}']?.head?.security).toEqual(methods);
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
    expect(doc.paths['/readyz']?.get?.security).toEqual([]);
    expect(doc.paths['/metrics']?.get?.security).toEqual([{ metricsToken: [] }]);
  });

  it('asks for METRICS_TOKEN on /metrics when it is set, and only there', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const guarded = await start({ METRICS_TOKEN: token });
    const metrics = `${guarded.url}/metrics`;
    for (const authorization of [undefined, `Bearer ${token}x`, token, `Bearer ${API_KEY}`]) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      const refused = await download(metrics, { headers });
      expect(refused.status, String(authorization)).toBe(401);
      expect(refused.json).toEqual({ detail: 'Not authenticated' });
    }
    const scraped = await download(metrics, { headers: { authorization: `Bearer ${token}` } });
    expect(scraped.status).toBe(200);
    expect(scraped.headers['content-type']).toMatch(/^text\/plain/);
    // Without access control on /tasks, the objects stay open.
    expect((await download(`${guarded.url}/tasks/1/image`)).status).toBe(200);
    expect(guarded.logLines.join('')).not.toContain(token);
  });

  it('asks every /tasks route for a credential', async () => {
    for (const url of [image(1), `${gateway.url}/tasks/1/bytes/10`]) {
      for (const method of ['GET', 'HEAD']) {
        const answer = await download(url, { method });
        expect(answer.status).toBe(401);
        expect(answer.headers['www-authenticate']).toBe('Bearer');
        if (method === 'GET') expect(answer.json).toEqual({ detail: 'Not authenticated' });
      }
    }
  });

  it('takes an API key in x-api-key or as a bearer token, for every task', async () => {
    const ways: Record<string, string>[] = [
      { 'x-api-key': API_KEY },
      { authorization: `Bearer ${API_KEY}` },
      { 'x-api-key': PUNCTUATED_KEY },
      { authorization: `bearer ${PUNCTUATED_KEY}` },
    ];
    for (const headers of ways) {
      for (const task of [1, 2]) {
        const answer = await download(image(task), { headers });
        expect(answer.status).toBe(200);
        expect(answer.sha256).toBe(sha256Of(store.bytes[task] as Buffer));
      }
      const bytes = await download(`${gateway.url}/tasks/9/bytes/5000`, { headers });
      expect([bytes.status, bytes.length]).toEqual([200, 5000]);
    }
  });

  it('limits a JWT to the tasks of its claim', async () => {
    const forOne = await token(secret, 'HS256', { tasks: [1] });
    const own = await download(image(1), { headers: { authorization: `Bearer ${forOne}` } });
    expect(own.status).toBe(200);
    expect(own.sha256).toBe(sha256Of(store.bytes[1] as Buffer));
    const other = await download(image(2), { headers: { authorization: `Bearer ${forOne}` } });
    expect(other.status).toBe(403);
    expect(other.json).toEqual({ detail: 'Forbidden' });
    expect(other.headers['www-authenticate']).toBeUndefined();

    // Task 5 passes the check and has no image.
    const asStrings = await token(secret, 'HS256', { tasks: ['2', '0005'] });
    for (const [task, status] of [
      [2, 200],
      [5, 404],
      [1, 403],
    ] as const) {
      const answer = await download(image(task), {
        headers: { authorization: `Bearer ${asStrings}` },
      });
      expect(answer.status, `task ${task}`).toBe(status);
    }

    const all = await token(secret, 'HS256', { tasks: '*' });
    for (const task of [1, 2]) {
      const answer = await download(image(task), { headers: { authorization: `Bearer ${all}` } });
      expect(answer.sha256).toBe(sha256Of(store.bytes[task] as Buffer));
    }
  });

  it('refuses a valid JWT whose tasks claim is missing or not a list of ids', async () => {
    for (const tasks of [undefined, '1', [1.5], [-1], { 1: true }, ['*']]) {
      const jwt = await token(secret, 'HS256', { tasks });
      const answer = await download(image(1), { headers: { authorization: `Bearer ${jwt}` } });
      expect(answer.status, JSON.stringify(tasks)).toBe(403);
    }
  });

  it('accepts a token a little past exp within the clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const late = await token(secret, 'HS256', { exp: now - 10 });
    const answer = await download(image(1), { headers: { authorization: `Bearer ${late}` } });
    expect(answer.status).toBe(200);
  });

  it.each([
    ['rsa', 'RS256'],
    ['ec', 'ES256'],
    ['ed', 'EdDSA'],
  ] as const)('verifies %s tokens (%s) with a PEM public key file', async (kind, alg) => {
    const key = await keyFile(store.dataDir, kind);
    const pem = await start({ JWT_PUBLIC_KEY_FILE: key.pemFile, ...jwtEnv });
    const jwt = await token(key.privateKey, alg, { tasks: [2] });
    const answer = await download(`${pem.url}/tasks/2/image`, {
      headers: { authorization: `Bearer ${jwt}` },
    });
    expect(answer.status).toBe(200);
    expect(answer.sha256).toBe(sha256Of(store.bytes[2] as Buffer));
    const stranger = await keyFile(store.dataDir, kind);
    const forged = await token(stranger.privateKey, alg, { tasks: [2] });
    const refused = await download(`${pem.url}/tasks/2/image`, {
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(refused.status).toBe(401);
  });

  it('fetches a JWKS once, and again for an unknown kid only after the cooldown', async () => {
    const jwks = await startJwksServer();
    cleanups.push(() => jwks.close());
    const first = await keyFile(store.dataDir, 'rsa');
    const next = await keyFile(store.dataDir, 'ec');
    jwks.setKeys([await publicJwk(first.privateKey, 'first', 'RS256')]);
    const remote = await start({ JWT_JWKS_URL: jwks.url, JWT_JWKS_COOLDOWN_S: '1', ...jwtEnv });
    const bearer = async (key: typeof first, alg: string, kid: string) => ({
      authorization: `Bearer ${await token(key.privateKey, alg, {}, { kid })}`,
    });

    for (let i = 0; i < 3; i++) {
      const answer = await download(`${remote.url}/tasks/1/image`, {
        headers: await bearer(first, 'RS256', 'first'),
      });
      expect(answer.status).toBe(200);
    }
    expect(jwks.paths).toEqual(['/jwks.json']);

    // Rotation: the issuer publishes a new key and withdraws the old one.
    jwks.setKeys([await publicJwk(next.privateKey, 'next', 'ES256')]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const rotated = await download(`${remote.url}/tasks/1/image`, {
      headers: await bearer(next, 'ES256', 'next'),
    });
    expect(rotated.status).toBe(200);
    expect(rotated.sha256).toBe(sha256Of(store.bytes[1] as Buffer));
    expect(jwks.paths).toEqual(['/jwks.json', '/jwks.json']);
    const withdrawn = await download(`${remote.url}/tasks/1/image`, {
      headers: await bearer(first, 'RS256', 'first'),
    });
    expect(withdrawn.status).toBe(401);
  });

  it('serves a signed URL to GET, HEAD and Range requests', async () => {
    const signed = `${gateway.url}${signUrl('/tasks/1/image', NEW_KEY)}`;
    const bytes = store.bytes[1] as Buffer;
    const whole = await download(signed);
    expect(whole.status).toBe(200);
    expect(whole.sha256).toBe(sha256Of(bytes));

    const head = await download(signed, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect([head.length, head.headers['content-length']]).toEqual([0, String(bytes.length)]);

    const part = await download(signed, { headers: { range: 'bytes=1000-65535' } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 1000-65535/${bytes.length}`);
    expect(part.sha256).toBe(sha256Of(bytes.subarray(1000, 65536)));
  });

  it('verifies URLs signed with a key listed after the first (rotation)', async () => {
    for (const key of [NEW_KEY, OLD_KEY]) {
      const answer = await download(`${gateway.url}${signUrl('/tasks/2/image', key)}`);
      expect(answer.status, key.kid).toBe(200);
      expect(answer.sha256).toBe(sha256Of(store.bytes[2] as Buffer));
    }
  });

  it('signs the query: download=1 and the bytes route', async () => {
    const attachment = await download(
      `${gateway.url}${signUrl('/tasks/1/image?download=1', NEW_KEY)}`,
    );
    expect(attachment.status).toBe(200);
    expect(attachment.headers['content-disposition']).toBe('attachment; filename="1.jpg"');
    const bytes = await download(`${gateway.url}${signUrl('/tasks/3/bytes/4096', NEW_KEY)}`);
    expect([bytes.status, bytes.length]).toEqual([200, 4096]);
  });

  it('serves a URL pinned to an ETag while the object is unchanged, 412 after', async () => {
    await store.put(3, randomBytes(10_000));
    const head = await download(`${gateway.url}/tasks/3/image`, {
      method: 'HEAD',
      headers: { 'x-api-key': API_KEY },
    });
    const etag = head.headers.etag as string;
    const pinned = `${gateway.url}${signUrl('/tasks/3/image', NEW_KEY, { etag })}`;
    const fresh = await download(pinned, { headers: { range: 'bytes=0-99' } });
    expect([fresh.status, fresh.sha256]).toEqual([
      206,
      sha256Of(store.bytes[3]?.subarray(0, 100) as Buffer),
    ]);
    // The client's own If-Match naming the pinned version keeps working.
    const own = await download(pinned, { headers: { 'if-match': etag } });
    expect(own.status).toBe(200);

    await store.put(3, randomBytes(10_001));
    for (const method of ['GET', 'HEAD']) {
      const stale = await download(pinned, { method });
      expect(stale.status, method).toBe(412);
      if (method === 'GET') expect(stale.json).toEqual({ detail: 'Precondition Failed' });
    }
    // An If-Match of `*` does not lift the pin.
    const star = await download(pinned, { headers: { 'if-match': '*' } });
    expect(star.status).toBe(412);
  });
});
