import { type ChildProcess, spawn } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, patternSha256 } from '../dev/pattern.js';
import { type Fault, sequence } from './helpers/fault-proxy.js';
import { FaultStack } from './helpers/fault-stack.js';
import type { RunningGateway } from './helpers/gateway.js';
import { download, waitFor } from './helpers/http-client.js';

const SIZE = 2 * 1024 * 1024;
const WHOLE = patternSha256(0, SIZE);
const KEY_PATH = '/images/test/1/image.jpg';

let stack: FaultStack;

/** A fresh gateway per test, so that no pooled connection hides a fault. */
function gateway(env: Record<string, string> = {}): Promise<RunningGateway> {
  return stack.gateway({ RETRY_ATTEMPTS: '3', ...env });
}

beforeAll(async () => {
  stack = await FaultStack.start();
  await stack.s3.put('images', 'test/1/image.jpg', patternBytes(0, SIZE));
});

afterEach(() => stack.reset());

afterAll(() => stack?.stop());

const slowDown: Fault = { type: 'status', status: 503, code: 'SlowDown' };

describe('failures before the first byte are retried with backoff', () => {
  it('connection refused until the storage comes back', async () => {
    const { url } = await gateway({ RETRY_ATTEMPTS: '10', RETRY_BACKOFF_MS: '20' });
    let refused = 0;
    const watch = ({ socket }: { socket: net.Socket }) => {
      socket.once('error', (error: NodeJS.ErrnoException & { port?: number }) => {
        if (
          error.code === 'ECONNREFUSED' &&
          `http://127.0.0.1:${error.port}` === stack.s3Proxy.url
        ) {
          refused++;
        }
      });
    };
    diagnostics.subscribe('net.client.socket', watch as (message: unknown) => void);
    try {
      await stack.s3Proxy.refuse();
      const pending = download(`${url}/tasks/1/image`);
      await waitFor(() => refused >= 2, 'two refused connections');
      await stack.s3Proxy.accept();
      const got = await pending;

      expect(got.status).toBe(200);
      expect(got.complete).toBe(true);
      expect(got.sha256).toBe(WHOLE);
      expect(stack.s3Proxy.gets(KEY_PATH)).toHaveLength(1);
    } finally {
      diagnostics.unsubscribe('net.client.socket', watch as (message: unknown) => void);
      await stack.s3Proxy.accept().catch(() => {});
    }
  });

  it.each<[string, Fault]>([
    ['reset', { type: 'reset', afterBytes: 0 }],
    ['closed', { type: 'cut', afterBytes: 0 }],
    ['answered 503 SlowDown', slowDown],
  ])('S3 GET %s twice, then served', async (_name, fault) => {
    const { url } = await gateway();
    stack.s3Proxy.rule = sequence([fault, fault]);

    const got = await download(`${url}/tasks/1/image`);

    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(got.sha256).toBe(WHOLE);
    expect(stack.s3Proxy.gets(KEY_PATH)).toHaveLength(3);
  });

  it('S3 HEAD (a Range request reads validators first) answered 503, then served', async () => {
    const { url } = await gateway();
    stack.s3Proxy.rule = sequence([slowDown], (request) => request.method === 'HEAD');

    const got = await download(`${url}/tasks/1/image`, { headers: { range: 'bytes=100-199' } });

    expect(got.status).toBe(206);
    expect(got.sha256).toBe(patternSha256(100, 200));
    expect(stack.s3Proxy.requests.filter((r) => r.method === 'HEAD')).toHaveLength(2);
  });

  it('an HTTP upstream reset, then answering 503, then served', async () => {
    const { url } = await gateway();
    stack.upstreamProxy.rule = sequence([{ type: 'reset', afterBytes: 0 }, slowDown]);

    const got = await download(`${url}/tasks/1/bytes/${SIZE}`);

    expect(got.status).toBe(200);
    expect(got.sha256).toBe(WHOLE);
    expect(stack.upstreamProxy.gets()).toHaveLength(3);
  });

  it('retries are bounded: RETRY_ATTEMPTS=3 means four requests, then 502', async () => {
    const { url } = await gateway();
    stack.s3Proxy.rule = (request) => (request.method === 'GET' ? slowDown : undefined);

    const got = await download(`${url}/tasks/1/image`);

    expect(got.status).toBe(502);
    expect(got.json).toEqual({ detail: 'Failed to get the image' });
    expect(stack.s3Proxy.gets(KEY_PATH)).toHaveLength(4);
  });

  it('a 403 is not retried', async () => {
    const { url } = await gateway();
    stack.s3Proxy.rule = () => ({ type: 'status', status: 403, code: 'AccessDenied' });

    const got = await download(`${url}/tasks/1/image`);

    expect(got.status).toBe(502);
    expect(got.json).toEqual({ detail: 'Failed to get the image' });
    expect(stack.s3Proxy.gets(KEY_PATH)).toHaveLength(1);
  });
});

describe('timeouts before the first byte answer 504 with a detail', () => {
  it.each([
    ['/tasks/1/image', 'Storage did not answer in time', () => stack.s3Proxy],
    [`/tasks/1/bytes/${SIZE}`, 'Upstream did not answer in time', () => stack.upstreamProxy],
  ])('%s: no response headers within FIRST_BYTE_TIMEOUT_MS', async (path, detail, proxyOf) => {
    const { url } = await gateway({ FIRST_BYTE_TIMEOUT_MS: '300' });
    const proxy = proxyOf();
    proxy.rule = () => ({ type: 'stall', afterBytes: 0 });

    const got = await download(`${url}${path}`, { timeoutMs: 10_000 });

    expect(got.status).toBe(504);
    expect(got.json).toEqual({ detail });
    expect(proxy.gets()).toHaveLength(1);
    // The stalled request was abandoned, and its connection with it.
    await waitFor(() => proxy.openSockets === 0, 'the stalled connection to close');
  });

  it.each([
    ['/tasks/1/image', 'Storage did not answer in time'],
    [`/tasks/1/bytes/${SIZE}`, 'Upstream did not answer in time'],
  ])('%s: no TCP connection within CONNECT_TIMEOUT_MS', async (path, detail) => {
    const blackhole = await startBlackhole();
    try {
      const { url } = await gateway({
        AWS_ENDPOINT_URL: blackhole.url,
        UPSTREAM_BASE_URL: blackhole.url,
        CONNECT_TIMEOUT_MS: '300',
        FIRST_BYTE_TIMEOUT_MS: '60000',
        RETRY_ATTEMPTS: '0',
      });

      // Without a connect timeout this waits for the first-byte deadline and the download
      // below fails on its own 10 s bound.
      const got = await download(`${url}${path}`, { timeoutMs: 10_000 });

      expect(got.status).toBe(504);
      expect(got.json).toEqual({ detail });
    } finally {
      blackhole.stop();
    }
  });
});

/**
 * A loopback port whose SYNs go unanswered: a child process listens with a backlog of 1 and
 * blocks its event loop so it never accepts; once we fill the accept queue, Linux drops every
 * further SYN, and a connect hangs as it does to an unreachable host.
 */
async function startBlackhole(): Promise<{ url: string; stop(): void }> {
  const script = `const s = require('net').createServer();
    s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
      process.stdout.write(String(s.address().port) + '\\n');
      setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 20);
    });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: 'pipe' });
  const fillers: net.Socket[] = [];
  const stop = () => {
    for (const socket of fillers) socket.destroy();
    child.kill('SIGKILL');
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.stdout?.once('data', (data: Buffer) => resolve(Number(String(data).trim())));
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let connected = true; connected; ) {
      if (fillers.length >= 16) throw new Error('the accept queue never filled');
      const socket = net.connect(port, '127.0.0.1').on('error', () => {});
      fillers.push(socket);
      connected = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 300);
        socket.once('connect', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    }
    return { url: `http://127.0.0.1:${port}`, stop };
  } catch (error) {
    stop();
    throw error;
  }
}
