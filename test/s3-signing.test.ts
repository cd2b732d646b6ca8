import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, sha256 } from '../dev/pattern.js';
import { SourceError } from '../src/errors.js';
import { bucketAddress, createS3Pool, S3BucketClient } from '../src/sources/s3/client.js';
import { CachedCredentials } from '../src/sources/s3/credentials.js';
import type { Credentials } from '../src/sources/s3/sigv4.js';
import { S3Source } from '../src/sources/s3.js';
import { s3Env, startGateway } from './helpers/gateway.js';
import { download } from './helpers/http-client.js';
import {
  SIGNING_ACCESS_KEY_ID,
  SIGNING_SECRET_ACCESS_KEY,
  type SigningS3,
  startSigningS3,
} from './helpers/signing-s3.js';

const BUCKET = 'images';
const SIZE = 100_000;
const HOSTILE_KEYS = [
  'plain/image.jpg',
  'with space/and  two  spaces.jpg',
  'unicode/ü é ሴ 😀.jpg',
  "reserved/+ & = $ @ ! ( ) ' * ,.jpg",
  'dots/a..b/..c../x..jpg',
  'percent/%41%2F%zz.jpg',
  'query/what?is=this#frag.jpg',
];
/** Keys of the gateway's image route, IMAGE_KEY_TEMPLATE with `{task_id}`. */
const TEMPLATE = "tasks ü/{task_id}/image +&=$@!()'*,.jpg";
const WRONG_SECRET = 'NOT-THE-SECRET-0123456789abcdefXYZ';

let s3: SigningS3;
const bodies = new Map<string, Buffer>();
const etags = new Map<string, string>();

/** The gateway's settings for the image route over the signing server, signing with `secret`. */
function gatewayEnv(secret: string): Record<string, string> {
  const credentials = { accessKeyId: SIGNING_ACCESS_KEY_ID, secretAccessKey: secret };
  return { ...s3Env(s3, credentials), IMAGE_KEY_TEMPLATE: TEMPLATE };
}

function sourceWith(credentials: Credentials): S3Source {
  const settings = {
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    tlsVerify: true,
    maxSockets: 4,
    accessKeyId: undefined,
    secretAccessKey: undefined,
    sessionToken: undefined,
  };
  const address = bucketAddress(settings, BUCKET);
  return new S3Source(
    new S3BucketClient({
      address,
      region: settings.region,
      dispatcher: createS3Pool(settings, address.origin, 2_000),
      credentials: new CachedCredentials(async () => credentials),
    }),
  );
}

async function readAll(source: S3Source, key: string, range?: { start: number; end: number }) {
  const opened = await source.read(key, { range, signal: new AbortController().signal });
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body) chunks.push(chunk as Buffer);
  return { ...opened, bytes: Buffer.concat(chunks) };
}

beforeAll(async () => {
  s3 = await startSigningS3([BUCKET]);
  const keys = [...HOSTILE_KEYS, TEMPLATE.replace('{task_id}', '5')];
  for (const [index, key] of keys.entries()) {
    const body = patternBytes(index * 7, index * 7 + SIZE);
    bodies.set(key, body);
    etags.set(key, await s3.put(BUCKET, key, body));
  }
});

afterAll(async () => {
  await s3?.stop();
});

describe('lean S3 client against a server that checks SigV4 signatures', () => {
  const good = () =>
    sourceWith({ accessKeyId: SIGNING_ACCESS_KEY_ID, secretAccessKey: SIGNING_SECRET_ACCESS_KEY });

  it.each(HOSTILE_KEYS)('HEAD, GET and a Range of %j answer the stored bytes', async (key) => {
    const source = good();
    try {
      const body = bodies.get(key) as Buffer;
      const info = await source.stat(key, new AbortController().signal);
      expect(info.size).toBe(SIZE);
      expect(info.etag).toBe(etags.get(key));
      const whole = await readAll(source, key);
      expect(sha256(whole.bytes)).toBe(sha256(body));
      expect(whole.info.etag).toBe(etags.get(key));
      const part = await readAll(source, key, { start: 1_000, end: 65_999 });
      expect(part.range).toEqual({ start: 1_000, end: 65_999 });
      expect(part.info.size).toBe(SIZE);
      expect(sha256(part.bytes)).toBe(sha256(body.subarray(1_000, 66_000)));
    } finally {
      await source.close();
    }
  });

  it('signs the session token of temporary credentials (the server checks the signed headers)', async () => {
    const source = sourceWith({
      accessKeyId: SIGNING_ACCESS_KEY_ID,
      secretAccessKey: SIGNING_SECRET_ACCESS_KEY,
      sessionToken: 'FwoGZXIvYXdzEXAMPLE//token+with/odd=chars',
      expiration: new Date(Date.now() + 3_600_000),
    });
    try {
      const key = HOSTILE_KEYS[2] as string;
      expect(sha256((await readAll(source, key)).bytes)).toBe(sha256(bodies.get(key) as Buffer));
    } finally {
      await source.close();
    }
  });

  it('answers a missing key as not-found and a wrong secret as unavailable, not retryable', async () => {
    const source = good();
    const wrong = sourceWith({ accessKeyId: SIGNING_ACCESS_KEY_ID, secretAccessKey: WRONG_SECRET });
    try {
      const signal = new AbortController().signal;
      const missing = await source.read('no/such key', { signal }).catch((error) => error);
      expect(missing).toBeInstanceOf(SourceError);
      expect((missing as SourceError).failure).toBe('not-found');
      // One at a time: a promise made before its turn could reject with no handler yet.
      for (const attempt of [
        () => wrong.read(HOSTILE_KEYS[0] as string, { signal }),
        () => wrong.stat(HOSTILE_KEYS[0] as string, signal),
        () => wrong.probe(signal),
      ]) {
        const refused = (await attempt().catch((error) => error)) as SourceError;
        expect(refused).toBeInstanceOf(SourceError);
        expect(refused.failure).toBe('unavailable');
        expect(refused.retryable).toBe(false);
        expect(refused.message).toMatch(/^storage answered 403/);
        expect(refused.message).not.toContain(WRONG_SECRET);
      }
      await expect(source.probe(signal)).resolves.toBeUndefined();
    } finally {
      await Promise.all([source.close(), wrong.close()]);
    }
  });
});

describe('gateway in front of a server that checks signatures', () => {
  it('serves GET, HEAD and Range of a hostile key template with the stored bytes', async () => {
    const gateway = await startGateway(gatewayEnv(SIGNING_SECRET_ACCESS_KEY));
    try {
      const body = bodies.get(TEMPLATE.replace('{task_id}', '5')) as Buffer;
      const whole = await download(`${gateway.url}/tasks/5/image`);
      expect(whole.status).toBe(200);
      expect(whole.sha256).toBe(sha256(body));
      const head = await download(`${gateway.url}/tasks/5/image`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe(String(SIZE));
      const part = await download(`${gateway.url}/tasks/5/image`, {
        headers: { range: 'bytes=-4096' },
      });
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes ${SIZE - 4096}-${SIZE - 1}/${SIZE}`);
      expect(part.sha256).toBe(sha256(body.subarray(SIZE - 4096)));
      const missing = await download(`${gateway.url}/tasks/6/image`);
      expect(missing.status).toBe(404);
      const ready = await download(`${gateway.url}/readyz`);
      expect(ready.status).toBe(503); // The upstream (httpbin.org) is not reachable here.
      expect(ready.json).toMatchObject({ checks: { storage: 'ok' } });
    } finally {
      await gateway.close();
    }
  });

  it('answers a wrong secret with 502 and the catalogue detail, and never logs the secret', async () => {
    const main = await startMain({ ...gatewayEnv(WRONG_SECRET), LOG_LEVEL: 'trace' });
    try {
      const variants: Record<string, string>[] = [
        {},
        { range: 'bytes=0-99' },
        { 'if-none-match': '"x"' },
      ];
      for (const headers of variants) {
        const answer = await download(`${main.url}/tasks/5/image`, { headers, timeoutMs: 10_000 });
        expect(answer.status).toBe(502);
        expect(answer.json).toEqual({ detail: 'Failed to get the image' });
      }
      const head = await request(`${main.url}/tasks/5/image`, { method: 'HEAD' });
      await head.body.dump();
      expect(head.statusCode).toBe(502);
      const ready = await download(`${main.url}/readyz`);
      expect(ready.json).toMatchObject({ checks: { storage: 'unavailable' } });
    } finally {
      await main.stop();
    }
    expect(main.output()).toContain('storage answered 403 SignatureDoesNotMatch');
    expect(main.output()).not.toContain(WRONG_SECRET);
    expect(main.output()).not.toMatch(/@aws-sdk|smithy|StringToSign/);
  });
});

const ROOT = path.resolve(import.meta.dirname, '..');

/** The real entry point in a child process, its stdout and stderr captured. */
async function startMain(env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    exited.then(() => reject(new Error(`main exited before listening: ${output}`)));
  });
  return {
    url,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
