import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ImageStore,
  imageStore,
  type LoggedGateway,
  startLoggedGateway,
} from './helpers/access-fixtures.js';
import { type Download, download } from './helpers/http-client.js';

const SITE = 'http://player.test:8080';
const API_KEY = 'cors-test-key-0123456789';
/** What a player may send: a range, the conditionals it resumes and revalidates with, a credential. */
const PLAYER_HEADERS =
  'range, if-range, if-match, if-none-match, if-modified-since, if-unmodified-since, authorization, x-api-key';

const preflight = (origin: string, headers = 'range, if-range, authorization') => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': 'GET',
    'access-control-request-headers': headers,
  },
});

/** A script of the page can read each of `names` from `answer`: it carries them and exposes them. */
function expectReadable(answer: Download, names: string[]): void {
  const exposed = answer.headers['access-control-expose-headers']?.toLowerCase().split(', ');
  for (const name of names) {
    expect(answer.headers[name], name).toBeDefined();
    expect(exposed, name).toContain(name);
  }
}

describe('CORS', () => {
  let store: ImageStore;
  const gateways: LoggedGateway[] = [];

  async function start(env: Record<string, string>) {
    const gateway = await startLoggedGateway({ DATA_DIR: store.dataDir, ...env });
    gateways.push(gateway);
    return gateway.url;
  }

  beforeAll(async () => {
    store = await imageStore();
  });

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
    if (store) await rm(store.dataDir, { recursive: true, force: true });
  });

  it('answers a preflight from a listed origin before access control, on both routes', async () => {
    const url = await start({ CORS_ORIGINS: `https://other.test,${SITE}`, API_KEYS: API_KEY });
    for (const path of ['/tasks/1/image', '/tasks/1/bytes/10']) {
      const answer = await download(`${url}${path}`, preflight(SITE, PLAYER_HEADERS));
      expect(answer.status, path).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(SITE);
      expect(answer.headers['access-control-allow-methods']).toBe('GET, HEAD');
      // Each header a player may send and no other; CORS compares the names case-insensitively.
      const allowed = answer.headers['access-control-allow-headers']?.toLowerCase().split(', ');
      expect(allowed?.sort()).toEqual(PLAYER_HEADERS.split(', ').sort());
      expect(answer.headers.vary).toMatch(/Origin/);
    }
  });

  it('lets a listed origin read answers and their headers, a 401 included', async () => {
    const url = await start({ CORS_ORIGINS: SITE, API_KEYS: API_KEY });
    const ok = await download(`${url}/tasks/1/image?download=1`, {
      headers: { origin: SITE, 'x-api-key': API_KEY, range: 'bytes=0-99' },
    });
    expect(ok.status).toBe(206);
    expect(ok.headers['access-control-allow-origin']).toBe(SITE);
    // Beyond the CORS-safelisted headers (Content-Length, Last-Modified...), what a player reads.
    expectReadable(ok, ['content-range', 'accept-ranges', 'etag', 'content-disposition']);
    const refused = await download(`${url}/tasks/1/image`, { headers: { origin: SITE } });
    expect(refused.status).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(SITE);
    expectReadable(refused, ['www-authenticate', 'x-request-id']);
  });

  it('gives an origin that is not listed no CORS header at all', async () => {
    const url = await start({ CORS_ORIGINS: SITE });
    const cors = (headers: Record<string, unknown>) =>
      Object.keys(headers).filter((name) => name.startsWith('access-control-'));
    const get = await download(`${url}/tasks/1/image`, { headers: { origin: 'http://evil.test' } });
    expect(get.status).toBe(200);
    expect(cors(get.headers)).toEqual([]);
    const pre = await download(`${url}/tasks/1/image`, preflight('http://evil.test'));
    expect(pre.status).toBe(405);
    expect(cors(pre.headers)).toEqual([]);
    // A listed origin differing only by scheme or port is another origin.
    const near = await download(`${url}/tasks/1/image`, preflight('http://player.test:8081'));
    expect(cors(near.headers)).toEqual([]);
  });

  it('keeps the 405 for an OPTIONS that is no preflight, and for every OPTIONS when off', async () => {
    const on = await start({ CORS_ORIGINS: SITE });
    const plain = await download(`${on}/tasks/1/image`, {
      method: 'OPTIONS',
      headers: { origin: SITE },
    });
    expect([plain.status, plain.headers.allow]).toEqual([405, 'GET, HEAD']);
    const off = await start({});
    const pre = await download(`${off}/tasks/1/image`, preflight(SITE));
    expect(pre.status).toBe(405);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows every origin with *', async () => {
    const url = await start({ CORS_ORIGINS: '*' });
    const answer = await download(`${url}/tasks/2/image`, {
      headers: { origin: 'http://any.test' },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBe('*');
    const pre = await download(`${url}/tasks/2/image`, preflight('http://any.test'));
    expect([pre.status, pre.headers['access-control-allow-origin']]).toEqual([204, '*']);
    // Without an Origin it is no preflight: the 405 with its JSON detail, as with a list.
    const originless = await download(`${url}/tasks/2/image`, {
      method: 'OPTIONS',
      headers: { 'access-control-request-method': 'GET' },
    });
    expect([originless.status, originless.headers.allow]).toEqual([405, 'GET, HEAD']);
    expect(originless.json).toHaveProperty('detail');
  });
});
