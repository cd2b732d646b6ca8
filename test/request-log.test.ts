import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, patternSha256 } from '../dev/pattern.js';
import { SourceError } from '../src/errors.js';
import { loggedUrl } from '../src/ops/access-log.js';
import { sequence } from './helpers/fault-proxy.js';
import { FaultStack } from './helpers/fault-stack.js';
import { type RunningGateway, s3Env, startGateway } from './helpers/gateway.js';
import { download, waitFor } from './helpers/http-client.js';
import { LogCapture } from './helpers/observe.js';
import { rawRequest } from './helpers/raw-http.js';
import { type TempStore, tempStore } from './helpers/store.js';

const SIZE = 256 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let store: TempStore;
let gateway: RunningGateway;
const logs = new LogCapture();

beforeAll(async () => {
  store = await tempStore('request-log');
  await store.put('images', 'test/1/image.jpg', patternBytes(0, SIZE));
  await store.putSparse('images', 'test/2/image.jpg', 256 * 1024 * 1024);
  gateway = await startGateway(
    { ...store.env, LOG_LEVEL: 'info', MAX_CONCURRENT_STREAMS: '1' },
    {},
    { logStream: logs },
  );
});

afterAll(async () => {
  await gateway?.close();
  await store?.remove();
});

/** The access-log line of the request with this id, once it is written. */
async function accessLine(requestId: string): Promise<Record<string, unknown>> {
  const find = () => logs.accessLines().filter((line) => line.requestId === requestId);
  await waitFor(() => find().length > 0, `the access-log line of ${requestId}`);
  expect(find()).toHaveLength(1);
  return find()[0] ?? {};
}

/**
 * Runs `body` against a gateway on s3rver behind the fault proxy (the object of SIZE at task 1),
 * logging at info into a capture of its own; stops both after.
 */
async function withFaultyStorage(
  env: Record<string, string>,
  body: (stack: FaultStack, running: RunningGateway, logs: LogCapture) => Promise<void>,
): Promise<void> {
  const stack = await FaultStack.start();
  const captured = new LogCapture();
  try {
    await stack.s3.put('images', 'test/1/image.jpg', patternBytes(0, SIZE));
    const running = await startGateway(
      { ...s3Env({ endpoint: stack.s3Proxy.url }), LOG_LEVEL: 'info', ...env },
      {},
      { logStream: captured },
    );
    try {
      await body(stack, running, captured);
    } finally {
      await running.close();
    }
  } finally {
    await stack.stop();
  }
}

describe('request ids', () => {
  it('keeps a well-formed x-request-id, echoes it and logs it', async () => {
    const id = 'edge-01:req_42.a-b';
    const got = await download(`${gateway.url}/tasks/1/image`, { headers: { 'x-request-id': id } });
    expect(got.sha256).toBe(patternSha256(0, SIZE));
    expect(got.headers['x-request-id']).toBe(id);
    expect((await accessLine(id)).status).toBe(200);
  });

  it.each([
    ['spaces', 'has spaces'],
    ['too long', 'a'.repeat(129)],
    ['quotes and braces', '"}{'],
    ['non-ASCII', 'naïve'],
  ])('replaces an x-request-id with %s by a UUID', async (_name, bad) => {
    const got = await download(`${gateway.url}/tasks/1/image`, {
      headers: { 'x-request-id': encodeURIComponent(bad) === bad ? bad : encodeURI(bad) },
    });
    const id = String(got.headers['x-request-id']);
    expect(id).toMatch(UUID);
    await accessLine(id);
  });

  it('gives a request without one a fresh UUID each time', async () => {
    const first = await download(`${gateway.url}/tasks/1/image`);
    const second = await download(`${gateway.url}/tasks/1/image`);
    expect(first.headers['x-request-id']).toMatch(UUID);
    expect(second.headers['x-request-id']).toMatch(UUID);
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
  });
});

describe('headers on every answer, errors included', () => {
  const answers: [string, string, string, number][] = [
    ['200', 'GET', '/tasks/1/image', 200],
    ['HEAD', 'HEAD', '/tasks/1/image', 200],
    ['404 object', 'GET', '/tasks/9/image', 404],
    ['404 route', 'GET', '/nowhere', 404],
    ['405', 'DELETE', '/tasks/1/image', 405],
    ['422', 'GET', '/tasks/x/image', 422],
    ['400 undecodable URL', 'GET', '/tasks/%c0%ae/image', 400],
    ['health', 'GET', '/healthz', 200],
    ['metrics', 'GET', '/metrics', 200],
    ['openapi', 'GET', '/openapi.json', 200],
  ];

  it.each(answers)(
    '%s: x-request-id, nosniff, no framework banner',
    async (name, method, path, status) => {
      const id = `headers-${name.replaceAll(' ', '-')}`;
      const got = await download(`${gateway.url}${path}`, {
        method,
        headers: { 'x-request-id': id },
      });
      expect(got.status).toBe(status);
      expect(got.headers['x-request-id']).toBe(id);
      expect(got.headers['x-content-type-options']).toBe('nosniff');
      expect(got.headers.server).toBeUndefined();
      expect(got.headers['x-powered-by']).toBeUndefined();
      expect((await accessLine(id)).status).toBe(status);
    },
  );

  it('503 when the stream cap is reached', async () => {
    const held = http.get(`${gateway.url}/tasks/2/image`, { agent: false });
    held.on('error', () => {});
    const response = await new Promise<http.IncomingMessage>((resolve) =>
      held.once('response', resolve),
    );
    response.pause();
    try {
      const got = await download(`${gateway.url}/tasks/1/image`, {
        headers: { 'x-request-id': 'over-the-cap' },
      });
      expect(got.status).toBe(503);
      expect(got.headers['x-request-id']).toBe('over-the-cap');
      expect(got.headers['x-content-type-options']).toBe('nosniff');
    } finally {
      response.destroy();
    }
  });

  it('a request the socket layer refuses gets no id: it never became a request', async () => {
    const raw = await rawRequest(
      gateway.url,
      'GET /tasks/1/image HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
    );
    expect(raw?.status).toBe(400);
    expect(raw?.headers['x-request-id']).toBeUndefined();
  });
});

describe('one access-log line per request', () => {
  it('says what was served, to whom and how it ended; nothing else is logged at info', async () => {
    const before = logs.lines().length;
    const id = 'access-line-1';
    await download(`${gateway.url}/tasks/1/image?download=1`, { headers: { 'x-request-id': id } });
    const line = await accessLine(id);
    expect(line).toMatchObject({
      level: 30,
      msg: 'request completed',
      requestId: id,
      method: 'GET',
      route: 'getTaskImage',
      url: '/tasks/1/image?download=1',
      taskId: '1',
      status: 200,
      bytes: SIZE,
      outcome: 'complete',
      attempts: 1,
      resumes: 0,
      client: '127.0.0.1',
    });
    expect(typeof line.durationMs).toBe('number');
    // Fastify's own "incoming request" and "request completed" lines are off.
    const mine = logs
      .lines()
      .slice(before)
      .filter((entry) => entry.requestId === id);
    expect(mine).toHaveLength(1);
  });

  it('logs a client that left mid-body as client_aborted with the bytes taken', async () => {
    const id = 'left-early';
    const request = http.get(`${gateway.url}/tasks/2/image`, {
      agent: false,
      headers: { 'x-request-id': id },
    });
    request.on('error', () => {});
    const response = await new Promise<http.IncomingMessage>((resolve) =>
      request.once('response', resolve),
    );
    await new Promise((resolve) => response.once('data', resolve));
    response.destroy();
    const line = await accessLine(id);
    expect(line.outcome).toBe('client_aborted');
    expect(line.status).toBe(200);
    expect(line.bytes).toBeGreaterThan(0);
    expect(line.bytes).toBeLessThan(256 * 1024 * 1024);
  });
});

describe('the client behind a proxy', () => {
  /** The access line's client of one request with these headers, on a gateway with TRUST_PROXY. */
  async function loggedClient(trustProxy: string, headers: Record<string, string>) {
    const captured = new LogCapture();
    const running = await startGateway(
      { ...store.env, LOG_LEVEL: 'info', TRUST_PROXY: trustProxy },
      {},
      { logStream: captured },
    );
    try {
      const id = `proxied-${trustProxy.replace(/[^a-z0-9]/gi, '-')}`;
      const got = await download(`${running.url}/tasks/1/image`, {
        headers: { ...headers, 'x-request-id': id },
      });
      expect(got.sha256).toBe(patternSha256(0, SIZE));
      const line = () => captured.accessLines().find((entry) => entry.requestId === id);
      await waitFor(() => line() !== undefined, 'the access-log line');
      return line()?.client;
    } finally {
      await running.close();
    }
  }

  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', async () => {
    expect(await loggedClient('', { 'x-forwarded-for': '203.0.113.7' })).toBe('127.0.0.1');
  });

  it('is the address a trusted proxy forwards for', async () => {
    expect(await loggedClient('loopback', { 'x-forwarded-for': '203.0.113.7' })).toBe(
      '203.0.113.7',
    );
  });

  it('is the last untrusted hop: a client cannot choose it by prepending addresses', async () => {
    const forwarded = { 'x-forwarded-for': '198.51.100.1, 203.0.113.7, 127.0.0.5' };
    expect(await loggedClient('127.0.0.0/8', forwarded)).toBe('203.0.113.7');
  });

  it('is the peer when the peer is not one of the trusted proxies', async () => {
    expect(await loggedClient('192.0.2.1', { 'x-forwarded-for': '203.0.113.7' })).toBe('127.0.0.1');
  });
});

describe('a client that leaves before the source answers', () => {
  it('is logged as client_aborted (499), with no warning of a source failure', async () => {
    await withFaultyStorage({}, async (stack, running, logs) => {
      // The storage takes the GET and never answers it.
      stack.s3Proxy.rule = sequence([{ type: 'stall', afterBytes: 0 }]);
      const id = 'left-waiting';
      const request = http.get(`${running.url}/tasks/1/image`, {
        agent: false,
        headers: { 'x-request-id': id },
      });
      request.on('error', () => {});
      await waitFor(() => stack.s3Proxy.gets().length > 0, 'the storage GET');
      request.destroy();

      await waitFor(() => logs.accessLines().length > 0, 'the access-log line');
      const [line] = logs.accessLines();
      expect(line).toMatchObject({ requestId: id, status: 499, outcome: 'client_aborted' });
      const warnings = logs.lines().filter((entry) => Number(entry.level) >= 40);
      expect(warnings).toEqual([]);
    });
  });
});

describe('a source failure in the log', () => {
  it('is its failure, its message, the frame that made it and the network code beneath', async () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:443'), {
      code: 'ECONNREFUSED',
    });
    gateway.app.log.warn(
      { err: new SourceError('unavailable', 'source unreachable', { cause }) },
      'failure probe',
    );
    const probe = logs.lines().find((line) => line.msg === 'failure probe');
    const err = probe?.err as Record<string, unknown>;
    expect(err).toMatchObject({
      type: 'SourceError',
      message: 'source unreachable',
      failure: 'unavailable',
      cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.9:443' },
    });
    expect(String(err.stack).split('\n')).toHaveLength(2);
  });

  it('keeps the whole stack of what a source threw without a code, and of any other error', () => {
    const thrown = new Error('bug in a team source');
    gateway.app.log.warn(
      { err: new SourceError('unavailable', 'source failed', { cause: thrown }) },
      'bug probe',
    );
    gateway.app.log.warn({ err: new TypeError('a bug of ours') }, 'own bug probe');
    const lines = logs.lines();
    const bug = lines.find((line) => line.msg === 'bug probe')?.err as { cause: { stack: string } };
    const own = lines.find((line) => line.msg === 'own bug probe')?.err as { stack: string };
    expect(bug.cause.stack.split('\n').length).toBeGreaterThan(2);
    expect(own.stack.split('\n').length).toBeGreaterThan(2);
  });
});

describe('no credential reaches the logs', () => {
  const secrets = {
    authorization: 'Bearer s3cr3t-bearer-token',
    'x-api-key': 'k3y-abcdef-123456',
    cookie: 'session=c00kie-value-789',
  };
  const query =
    'sig=hm4c-signature-value&X-Amz-Signature=amz-signature-value' +
    '&X-Amz-Credential=AKIDEXAMPLE%2F20261201%2Fus-east-1&X-Amz-Security-Token=amz-token-value' +
    '&download=1';
  const leaks = [
    ...Object.values(secrets),
    'hm4c-signature-value',
    'amz-signature-value',
    'AKIDEXAMPLE',
    'amz-token-value',
  ];

  it('redacts headers and strips signature parameters from the logged URL', async () => {
    const id = 'with-secrets';
    await download(`${gateway.url}/tasks/1/image?${query}`, {
      headers: { ...secrets, 'x-request-id': id },
    });
    await download(`${gateway.url}/tasks/x/image?${query}`, { headers: secrets });
    const line = await accessLine(id);
    expect(line.url).toBe('/tasks/1/image?download=1');
    const text = logs.text.join('');
    for (const leak of leaks) expect(text).not.toContain(leak);
  });

  it('strips a signature that a second ? in front of the query hides from Fastify', async () => {
    const id = 'with-secrets-behind-a-second-mark';
    await download(`${gateway.url}/tasks/1/image??${query}`, { headers: { 'x-request-id': id } });
    expect((await accessLine(id)).url).toBe('/tasks/1/image?download=1');
    const text = logs.text.join('');
    for (const leak of leaks) expect(text).not.toContain(leak);
  });

  it.each([
    ['/t??sig=abc&download=1', '/t?download=1'],
    ['/t???SIG=abc&download=1', '/t?download=1'],
    ['/t??download=1&sig=abc', '/t??download=1'],
    ['/t?download=1&?sig=abc', '/t?download=1'],
    ['/t?%3Fsig=abc', '/t'],
    ['/t?sigma=1&%73ig=abc', '/t?sigma=1'],
  ])('logs %s as %s', (url, logged) => {
    expect(loggedUrl(url)).toBe(logged);
  });

  it('pino redacts credential headers in any object logged', () => {
    gateway.app.log.info({ headers: secrets, req: { headers: secrets } }, 'redaction probe');
    const probe = logs.lines().find((line) => line.msg === 'redaction probe');
    expect(probe?.headers).toEqual({
      authorization: '[REDACTED]',
      'x-api-key': '[REDACTED]',
      cookie: '[REDACTED]',
    });
    expect(JSON.stringify(probe)).not.toContain('s3cr3t');
  });

  it('also when a source fails, before and after the first byte', async () => {
    await withFaultyStorage({ RESUME_ATTEMPTS: '0' }, async (stack, running, failing) => {
      const refused = { type: 'status', status: 500, code: 'InternalError' } as const;
      stack.s3Proxy.rule = sequence([
        { type: 'reset', afterBytes: 64 * 1024 },
        refused,
        refused,
        refused,
      ]);
      const broken = await download(`${running.url}/tasks/1/image?${query}`, {
        headers: secrets,
      });
      expect(broken.complete).toBe(false);
      const failed = await download(`${running.url}/tasks/1/image?${query}`, {
        headers: secrets,
      });
      expect(failed.status).toBe(502);
      await waitFor(() => failing.accessLines().length === 2, 'the access-log lines');
      const outcomes = failing.accessLines().map((line) => [line.status, line.outcome]);
      expect(outcomes).toEqual([
        [200, 'source_failed'],
        [502, 'complete'],
      ]);
      expect(failing.lines().some((line) => line.level === 40)).toBe(true);
      const text = failing.text.join('');
      for (const leak of leaks) expect(text).not.toContain(leak);
    });
  });
});
