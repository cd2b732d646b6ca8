import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternSha256, patternStream } from '../dev/pattern.js';
import { type RunningGateway, startGateway } from './helpers/gateway.js';
import { type TempStore, tempStore } from './helpers/store.js';

const run = promisify(execFile);

const SIZE = 10 * 1024 * 1024;
const TASK_ID = 31;
const OBJECT_PATH = `/tasks/${TASK_ID}/image`;
/** Response bytes (head included) that reach the client before its connection drops. */
const CUT_AFTER = 3 * 1024 * 1024 + 12_345;
const WAIT_MS = 20_000;

interface Exchange {
  range: string | undefined;
  status: number;
  contentRange: string | undefined;
}

/** Runs a client to its end and gives its exit code. */
function exitCode(command: string, args: string[], cwd: string): Promise<number | null> {
  const child = spawn(command, args, { cwd, stdio: 'ignore', timeout: WAIT_MS });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

async function fileSize(file: string): Promise<number> {
  return (await stat(file)).size;
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * A TCP relay to the gateway that drops each connection after CUT_AFTER bytes of answer, as a
 * broken network would. The client is left with a partial file, the gateway with a gone client.
 */
async function startCuttingRelay(target: string): Promise<{ url: string; server: net.Server }> {
  const { hostname, port } = new URL(target);
  const server = net.createServer((client) => {
    const gateway = net.connect(Number(port), hostname);
    let relayed = 0;
    client.pipe(gateway);
    gateway.on('data', (chunk: Buffer) => {
      const room = CUT_AFTER - relayed;
      relayed += chunk.length;
      if (chunk.length < room) return void client.write(chunk);
      client.end(chunk.subarray(0, room));
      gateway.destroy();
    });
    for (const socket of [client, gateway]) {
      socket.on('error', () => {});
      socket.on('close', () => {
        client.destroy();
        gateway.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('download managers resume a cut download', () => {
  let store: TempStore;
  let workDir: string;
  let gateway: RunningGateway;
  let relay: { url: string; server: net.Server };
  const exchanges: Exchange[] = [];

  beforeAll(async () => {
    store = await tempStore('resume-data');
    workDir = await mkdtemp(path.join(tmpdir(), 'streamgate-resume-client-'));
    await store.put('images', `test/${TASK_ID}/image.jpg`, patternStream(0, SIZE));
    gateway = await startGateway(store.env);
    relay = await startCuttingRelay(gateway.url);
    gateway.app.server.on('request', (request, response) => {
      if (request.url !== OBJECT_PATH) return;
      response.once('close', () => {
        const contentRange = response.getHeader('content-range');
        exchanges.push({
          range: request.headers.range,
          status: response.headersSent ? response.statusCode : 0,
          contentRange: typeof contentRange === 'string' ? contentRange : undefined,
        });
      });
    });
  });

  afterAll(async () => {
    await new Promise((resolve) => (relay ? relay.server.close(resolve) : resolve(undefined)));
    await gateway?.close();
    await store?.remove();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const objectUrl = () => `${gateway.url}${OBJECT_PATH}`;

  /** The gateway's answer to the resuming request, once its socket is done with it. */
  async function resumedExchange(from: number): Promise<Exchange | undefined> {
    const range = `bytes=${from}-`;
    for (let tries = 0; tries < 100; tries++) {
      const found = exchanges.find((exchange) => exchange.range === range);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return undefined;
  }

  it('curl -C - continues from the last byte it has and ends with the same bytes', async () => {
    const file = path.join(workDir, 'curl.bin');
    // 18: "partial file", the transfer ended before content-length was reached.
    expect(await exitCode('curl', ['-sS', '-o', file, `${relay.url}${OBJECT_PATH}`], workDir)).toBe(
      18,
    );
    const partial = await fileSize(file);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(CUT_AFTER);

    const { stdout } = await run(
      'curl',
      ['-sS', '-C', '-', '-o', file, '-w', '%{http_code} %header{content-range}', objectUrl()],
      { timeout: WAIT_MS },
    );
    expect(stdout).toBe(`206 bytes ${partial}-${SIZE - 1}/${SIZE}`);
    expect(await fileSize(file)).toBe(SIZE);
    expect(await fileSha256(file)).toBe(patternSha256(0, SIZE));
    expect(await resumedExchange(partial)).toEqual({
      range: `bytes=${partial}-`,
      status: 206,
      contentRange: `bytes ${partial}-${SIZE - 1}/${SIZE}`,
    });
  });

  it('wget -c continues from the last byte it has and ends with the same bytes', async () => {
    const dir = path.join(workDir, 'wget');
    await mkdir(dir);
    // wget names the file after the last segment of the URL; -t 1: no retry of its own.
    const file = path.join(dir, 'image');
    // 4: network failure.
    expect(await exitCode('wget', ['-q', '-t', '1', `${relay.url}${OBJECT_PATH}`], dir)).toBe(4);
    const partial = await fileSize(file);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(CUT_AFTER);

    // -S prints the server's answer on stderr.
    const { stderr } = await run('wget', ['-S', '-nv', '-c', objectUrl()], {
      cwd: dir,
      timeout: WAIT_MS,
    });
    expect(stderr).toMatch(/^ {2}HTTP\/1\.1 206 Partial Content$/m);
    expect(stderr).toContain(`content-range: bytes ${partial}-${SIZE - 1}/${SIZE}`);
    expect(await fileSize(file)).toBe(SIZE);
    expect(await fileSha256(file)).toBe(patternSha256(0, SIZE));
    expect(await resumedExchange(partial)).toMatchObject({ status: 206 });
  });
});
