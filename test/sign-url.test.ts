import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUrl } from '../src/auth/signed-url.js';
import {
  type ImageStore,
  imageStore,
  type LoggedGateway,
  sha256Of,
  signedUrlKeys,
  signingKey,
  startLoggedGateway,
} from './helpers/access-fixtures.js';
import { download } from './helpers/http-client.js';

const run = promisify(execFile);
const KEYS = `cli:${randomBytes(32).toString('base64url')},older:${randomBytes(32).toString('hex')}`;

/** `npm run sign-url -- …` without npm's banner: the script under tsx, as npm runs it. */
function signUrlCli(args: string[], env: Record<string, string> = { SIGNED_URL_KEYS: KEYS }) {
  return run('node_modules/.bin/tsx', ['scripts/sign-url.ts', ...args], {
    env: { PATH: process.env.PATH, ...env },
    timeout: 30_000,
  });
}

describe('npm run sign-url', () => {
  let store: ImageStore;
  let gateway: LoggedGateway;

  beforeAll(async () => {
    store = await imageStore();
    gateway = await startLoggedGateway({ DATA_DIR: store.dataDir, SIGNED_URL_KEYS: KEYS });
  });

  afterAll(async () => {
    await gateway?.close();
    if (store) await rm(store.dataDir, { recursive: true, force: true });
  });

  it('prints one line, a URL the gateway serves', async () => {
    const { stdout, stderr } = await signUrlCli(['/tasks/2/image?download=1', '--ttl', '60']);
    expect(stderr).toBe('');
    const lines = stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const url = lines[0] as string;
    expect(url).toMatch(/^\/tasks\/2\/image\?download=1&exp=\d+&kid=cli&sig=[\w-]{43}$/);
    const exp = Number(/exp=(\d+)/.exec(url)?.[1]);
    expect(exp - Date.now() / 1000).toBeGreaterThan(30);
    expect(exp - Date.now() / 1000).toBeLessThanOrEqual(60);
    const answer = await download(`${gateway.url}${url}`);
    expect(answer.status).toBe(200);
    expect(answer.sha256).toBe(sha256Of(store.bytes[2] as Buffer));
  });

  it('pins an ETag', async () => {
    const { stdout } = await signUrlCli(['/tasks/1/image', '--etag', '"not-the-current-one"']);
    const answer = await download(`${gateway.url}${stdout.trim()}`);
    expect(answer.status).toBe(412);
  });

  it.each([
    [['/tasks/1/image'], {}, 'SIGNED_URL_KEYS is not set'],
    [['/tasks/1/image'], { SIGNED_URL_KEYS: 'k:short' }, 'invalid setting SIGNED_URL_KEYS'],
    [[], { SIGNED_URL_KEYS: KEYS }, 'expected exactly one PATH'],
    [['/tasks/1/image', '--ttl', '1y'], { SIGNED_URL_KEYS: KEYS }, '--ttl expects whole seconds'],
    [['/tasks/1/image', '--ttl', '999999999'], { SIGNED_URL_KEYS: KEYS }, 'the lifetime must be'],
    [['/tasks/1/image', '--etag', 'W/"x"'], { SIGNED_URL_KEYS: KEYS }, 'strong entity tag'],
    [['/tasks/1/image', '--nope'], { SIGNED_URL_KEYS: KEYS }, "Unknown option '--nope'"],
  ])('refuses %j with %j: %s', async (args, env, message) => {
    const failed = await signUrlCli(args, env).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stdout).toBe('');
    expect(failed?.stderr).toContain(message);
  });
});

describe('a signed URL whose query starts with a second ?', () => {
  const key = signingKey('k1');
  let store: ImageStore;
  let gateway: LoggedGateway;

  beforeAll(async () => {
    store = await imageStore();
    gateway = await startLoggedGateway({
      DATA_DIR: store.dataDir,
      SIGNED_URL_KEYS: signedUrlKeys(key),
    });
  });

  afterAll(async () => {
    await gateway?.close();
    if (store) await rm(store.dataDir, { recursive: true, force: true });
  });

  /** Every log line of the request with this id, as JSON. */
  function linesOf(requestId: string): Record<string, unknown>[] {
    return gateway.logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.requestId === requestId);
  }

  const signed = signUrl('/tasks/1/image?download=1', key, { ttlSeconds: 60 });
  const sig = /sig=([\w-]+)$/.exec(signed)?.[1] ?? '';
  const [path, query] = signed.split('?');
  const sigFirst = `${path}??sig=${sig}&${query?.replace(`&sig=${sig}`, '')}`;

  it('is served as signed with one ?', async () => {
    const answer = await gateway.app.inject({ url: signed });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-disposition']).toMatch(/^attachment/);
  });

  it.each([
    ['download', signed.replace('?', '??')],
    ['sig', sigFirst],
  ])('is refused with a second ? before %s, and its signature is not logged', async (name, url) => {
    const requestId = `second-mark-${name}`;
    const answer = await gateway.app.inject({ url, headers: { 'x-request-id': requestId } });
    expect(answer.statusCode).toBe(401);
    expect(answer.json()).toEqual({ detail: 'Not authenticated' });
    const lines = linesOf(requestId);
    expect(lines.find((line) => line.msg === 'access denied')?.access).toBe('signed-url-malformed');
    expect(lines.find((line) => line.msg === 'request completed')?.url).not.toContain('sig');
    expect(lines.map((line) => JSON.stringify(line)).join('\n')).not.toContain(sig);
  });
});
