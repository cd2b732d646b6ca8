import { createHash, generateKeyPairSync } from 'node:crypto';
import { get, type IncomingMessage } from 'node:http';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIENCE,
  ISSUER,
  type JwksServer,
  publicJwk,
  startJwksServer,
  token,
} from './helpers/access-fixtures.js';
import { type RunningGateway, startGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/http-client.js';
import { rawRequest } from './helpers/raw-http.js';
import { type TempStore, tempStore } from './helpers/store.js';

/** Large enough that a client that stops reading keeps its response open. */
const SIZE = 64 * 1024 * 1024;
const IMAGE = '/tasks/1/image';
const MAX_URL_LENGTH = 256;

let store: TempStore;
let gateway: RunningGateway;

beforeAll(async () => {
  store = await tempStore('limits');
  await store.putSparse('images', 'test/1/image.jpg', SIZE);
  gateway = await startGateway({
    ...store.env,
    MAX_CONCURRENT_STREAMS: '2',
    MAX_URL_LENGTH: String(MAX_URL_LENGTH),
  });
});

afterAll(async () => {
  await gateway?.close();
  await store?.remove();
});

const zerosSha256 = (() => {
  const hash = createHash('sha256');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < SIZE / block.length; i++) hash.update(block);
  return hash.digest('hex');
})();

interface HeldStream {
  response: IncomingMessage;
  /** Resumes reading and resolves with the body's length and hash once it ends. */
  finish(): Promise<{ bytes: number; sha256: string }>;
}

/** Starts a download and stops reading after the first chunk, so the stream stays open. */
function holdStream(url: string): Promise<HeldStream> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      const hash = createHash('sha256');
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      response.once('data', () => {
        response.pause();
        resolve({
          response,
          finish: async () => {
            response.resume();
            await finished(response);
            return { bytes, sha256: hash.digest('hex') };
          },
        });
      });
    }).once('error', reject);
  });
}

/** Asks until a slot is free: a slot is released when the server sees the response close. */
async function untilAdmitted(url: string): Promise<HeldStream> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const probe = await fetch(url, { method: 'HEAD' });
    if (probe.status !== 503) return holdStream(url);
    await sleep(20);
  }
  throw new Error('no stream slot freed within 2 s');
}

describe('concurrent stream cap', () => {
  it('answers 503 with retry-after beyond MAX_CONCURRENT_STREAMS, and frees slots', async () => {
    const url = `${gateway.url}${IMAGE}`;
    const first = await holdStream(url);
    const second = await holdStream(url);
    expect([first.response.statusCode, second.response.statusCode]).toEqual([200, 200]);

    const refused = await fetch(url);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await refused.json()).toEqual({ detail: 'Too many concurrent downloads, retry later' });

    // A client that goes away frees its slot.
    first.response.destroy();
    const third = await untilAdmitted(url);
    expect(third.response.statusCode).toBe(200);
    expect((await fetch(url)).status).toBe(503);

    // Streams that end normally free theirs, and every byte was delivered.
    for (const held of [second, third]) {
      expect(await held.finish()).toEqual({ bytes: SIZE, sha256: zerosSha256 });
    }
    const after = await untilAdmitted(url);
    expect(after.response.statusCode).toBe(200);
    expect(await after.finish()).toEqual({ bytes: SIZE, sha256: zerosSha256 });
  });
});

describe('concurrent stream cap, clients gone before the cap is reached', () => {
  let jwks: JwksServer;
  let limited: RunningGateway;
  let headers: Record<string, string>;

  beforeAll(async () => {
    jwks = await startJwksServer({ delayMs: 300 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    jwks.setKeys([await publicJwk(privateKey, 'k1', 'ES256')]);
    headers = { authorization: `Bearer ${await token(privateKey, 'ES256', {}, { kid: 'k1' })}` };
    limited = await startGateway({
      ...store.env,
      MAX_CONCURRENT_STREAMS: '1',
      JWT_JWKS_URL: jwks.url,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
  });

  afterAll(async () => {
    await limited?.close();
    await jwks?.close();
  });

  it('takes no slot for a client that left while access control fetched its keys', async () => {
    const url = `${limited.url}${IMAGE}`;
    const requests = [0, 1].map(() => get(url, { headers, agent: false }).on('error', () => {}));
    // Both wait in the access check: the keys were asked for, and they take 300 ms to come.
    await waitFor(() => jwks.paths.length === 1, 'the JWKS fetch');
    for (const request of requests) request.destroy();
    await sleep(600); // the keys have come, the hooks of both requests have run
    expect(jwks.paths).toEqual(['/jwks.json']);
    const after = await fetch(url, { headers: { ...headers, range: 'bytes=0-99' } });
    expect(after.status).toBe(206);
    expect(
      createHash('sha256')
        .update(Buffer.from(await after.arrayBuffer()))
        .digest('hex'),
    ).toBe(createHash('sha256').update(Buffer.alloc(100)).digest('hex'));
  });
});

describe('request size limits', () => {
  it('answers 414 with a detail for a URL longer than MAX_URL_LENGTH', async () => {
    const base = `${IMAGE}?pad=`;
    const fits = `${base}${'a'.repeat(MAX_URL_LENGTH - base.length)}`;
    const head = await fetch(`${gateway.url}${fits}`, { method: 'HEAD' });
    expect(head.status).toBe(200);

    for (const target of [`${fits}a`, `/nowhere/${'a'.repeat(MAX_URL_LENGTH)}`]) {
      const response = await fetch(`${gateway.url}${target}`);
      expect(response.status).toBe(414);
      expect(await response.json()).toEqual({ detail: 'URL too long' });
    }
  });

  it('validates a path parameter as long as the URL may be: a 422, not a 414', async () => {
    const within = `/tasks/${'1'.repeat(MAX_URL_LENGTH - '/tasks//image'.length)}/image`;
    for (const target of [`/tasks/${'1'.repeat(65)}/image`, within]) {
      const response = await fetch(`${gateway.url}${target}`);
      expect(response.status, target).toBe(422);
      expect(await response.json()).toEqual({
        detail: [
          {
            loc: ['path', 'task_id'],
            msg: 'Input should be a valid integer, unable to parse string as an integer',
            type: 'int_parsing',
          },
        ],
      });
    }
    const past = await fetch(`${gateway.url}/tasks/${'1'.repeat(MAX_URL_LENGTH)}/image`);
    expect(past.status).toBe(414);
    expect(await past.json()).toEqual({ detail: 'URL too long' });
  });

  it('answers 431 with a JSON detail for headers past the limit', async () => {
    const withHeader = (bytes: number) =>
      `HEAD ${IMAGE} HTTP/1.1\r\nhost: gateway\r\nx-pad: ${'a'.repeat(bytes)}\r\nconnection: close\r\n\r\n`;

    const small = await rawRequest(gateway.url, withHeader(8 * 1024));
    expect(small?.status).toBe(200);

    const large = await rawRequest(gateway.url, withHeader(20 * 1024));
    expect(large?.status).toBe(431);
    expect(large?.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(large?.body.toString() ?? '')).toEqual({
      detail: 'Request Header Fields Too Large',
    });

    const many = Array.from({ length: 1_000 }, (_, i) => `x-h${i}: ${'v'.repeat(20)}\r\n`).join('');
    const tooMany = await rawRequest(
      gateway.url,
      `GET ${IMAGE} HTTP/1.1\r\nhost: gateway\r\n${many}connection: close\r\n\r\n`,
    );
    expect(tooMany?.status).toBe(431);
    expect(JSON.parse(tooMany?.body.toString() ?? '')).toHaveProperty('detail');
  });
});
