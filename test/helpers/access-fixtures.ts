import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { exportJWK, type JWK, SignJWT } from 'jose';
import { buildApp } from '../../src/app.js';
import type { SigningKey } from '../../src/auth/signed-url.js';
import { loadSettings } from '../../src/settings.js';

/** A gateway on 127.0.0.1:0 whose every log line is kept, for greps. */
export interface LoggedGateway {
  app: FastifyInstance;
  url: string;
  logLines: string[];
  close(): Promise<void>;
}

export async function startLoggedGateway(env: Record<string, string>): Promise<LoggedGateway> {
  const settings = loadSettings({ LOG_LEVEL: 'info', ...env, HOST: '127.0.0.1', PORT: '0' });
  const logLines: string[] = [];
  const app = buildApp(settings, {}, { logStream: { write: (line) => void logLines.push(line) } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, logLines, close: () => app.close() };
}

/** A local store with a distinct random image for tasks 1 and 2. */
export interface ImageStore {
  dataDir: string;
  bytes: Record<number, Buffer>;
  /** Writes (or rewrites) the image of `task`. */
  put(task: number, bytes: Buffer): Promise<void>;
}

export async function imageStore(): Promise<ImageStore> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'streamgate-access-'));
  const bytes: Record<number, Buffer> = {};
  const put = async (task: number, content: Buffer) => {
    const dir = path.join(dataDir, 'images', 'test', String(task));
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'image.jpg'), content);
    bytes[task] = content;
  };
  for (const task of [1, 2]) await put(task, randomBytes(96 * 1024 + task));
  return { dataDir, bytes, put };
}

export function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** An asymmetric key pair of each kind the gateway verifies, public halves as PEM files. */
export interface KeyFile {
  privateKey: KeyObject;
  /** The public key, PEM (SPKI). */
  pem: string;
  pemFile: string;
}

export type KeyKind = 'rsa' | 'ec' | 'ed';

function generate(kind: KeyKind) {
  if (kind === 'rsa') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (kind === 'ec') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('ed25519');
}

export async function keyFile(dir: string, kind: KeyKind): Promise<KeyFile> {
  const { privateKey, publicKey } = generate(kind);
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const pemFile = path.join(dir, `${kind}-${randomBytes(4).toString('hex')}.pem`);
  await writeFile(pemFile, pem);
  return { privateKey, pem, pemFile };
}

/** A URL-signing key with a fresh random secret. */
export function signingKey(kid: string): SigningKey {
  return { kid, secret: randomBytes(32).toString('base64url') };
}

/** SIGNED_URL_KEYS for `keys`: `kid:secret`, comma-separated. */
export function signedUrlKeys(...keys: SigningKey[]): string {
  return keys.map(({ kid, secret }) => `${kid}:${secret}`).join(',');
}

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'streamgate-test';

/** Signs a token with the claims a valid one has, then `claims` over them. */
export function token(
  key: KeyObject | Uint8Array,
  alg: string,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: ISSUER, aud: AUDIENCE, exp: now + 300, tasks: '*', ...claims };
  // Keys set to undefined are dropped: a way to leave out `exp`.
  const body = JSON.parse(JSON.stringify(payload));
  return new SignJWT(body).setProtectedHeader({ alg, ...header }).sign(key);
}

/** A JWKS endpoint on 127.0.0.1:0 whose keys the test swaps; it records every request path. */
export interface JwksServer {
  url: string;
  paths: string[];
  setKeys(keys: JWK[]): void;
  close(): Promise<void>;
}

/** `delayMs`: how long it takes to answer, as a slow identity provider does. */
export async function startJwksServer({ delayMs = 0 } = {}): Promise<JwksServer> {
  let keys: JWK[] = [];
  const paths: string[] = [];
  const server: Server = createServer((request, response) => {
    paths.push(request.url ?? '');
    if (request.url !== '/jwks.json') return void response.writeHead(404).end();
    const body = JSON.stringify({ keys });
    setTimeout(() => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    paths,
    setKeys: (next) => {
      keys = next;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The public JWK of `privateKey`, with its `kid` and `alg`. */
export async function publicJwk(privateKey: KeyObject, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(createPublicKey(privateKey))), kid, alg, use: 'sig' };
}
