import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, sha256 } from '../dev/pattern.js';
import { type LocalUpstream, startLocalUpstream } from '../dev/upstream-server.js';
import { type RunningGateway, startGateway } from './helpers/gateway.js';
import { type RawResponse, rawRequest } from './helpers/raw-http.js';
import { type TempStore, tempStore } from './helpers/store.js';

const SIZE = 4096;
const SECRET = 'TOP-SECRET-do-not-serve';
const IMAGE = '/tasks/1/image';

/** One hostile request, written to the socket exactly as given. */
interface Case {
  name: string;
  wire: string;
  /** Answers allowed besides a 4xx with a JSON detail (range cases on an existing object). */
  alsoAllowed?: readonly number[];
}

function request(method: string, target: string, headers = '', version = 'HTTP/1.1'): string {
  return `${method} ${target} ${version}\r\nhost: gateway\r\n${headers}connection: close\r\n\r\n`;
}

const traversal = [
  '/tasks/../image',
  '/tasks/%2e%2e/image',
  '/tasks/%2E%2E/image',
  '/tasks/%252e%252e/image',
  '/tasks/..%2f..%2fsecret.txt/image',
  '/tasks/..%2F..%2Fsecret.txt/image',
  '/tasks/%c0%ae%c0%ae/image',
  '/tasks/%c0%af/image',
  '/tasks/..\\..\\secret.txt/image',
  '/tasks/..%5c..%5csecret.txt/image',
  '/tasks/1%00/image',
  '/tasks/%00/image',
  '/tasks/1/image%00.jpg',
  '/tasks/1/image/../../../secret.txt',
  '/tasks/1/../../secret.txt',
  '/tasks/1/image%2f..%2f..%2fsecret.txt',
  '/../../secret.txt',
  '/%2e%2e/%2e%2e/secret.txt',
  '/tasks/1/bytes/..%2fstatus%2f500',
  '/tasks/1/bytes/1%2f..%2f..%2fstatus%2f500',
  'http://gateway/../secret.txt',
  '*',
];

const badNumbers = [
  '123456789012345678901234567890',
  '99999999999999999',
  '-1',
  '-0',
  '1.5',
  '1.0',
  '1e3',
  '0x10',
  '0b1',
  '+1',
  '%D9%A1',
  '%EF%BC%91',
  '%20',
  '1%201',
  '%201',
  '1%09',
  'Infinity',
  'NaN',
  'null',
  '%0a1',
];

const ranges = [
  'bytes=',
  'bytes=a-b',
  'bytes=5-1',
  'bytes=-',
  'bytes=--1',
  'bytes=-0',
  'bytes=0--1',
  'bytes=1-2-3',
  'bytes=0x0-0x10',
  'bytes=1e3-',
  'bytes=99999999999999999999999999-',
  'bytes=0-99999999999999999999999999',
  'bytes=-99999999999999999999999999',
  `bytes=${SIZE}-`,
  'bytes=0-0,-1',
  'bytes = 0-1',
  'BYTES=0-1',
  'items=0-1',
  'bytes=١-٢',
  // As many ranges as fit in Node's 16 KiB header limit.
  `bytes=${Array.from({ length: 5_000 }, (_, i) => `${i % SIZE}-`).join(',')}`.slice(0, 15_000),
  `bytes=${'-1,'.repeat(4_800)}-1`,
];

const methods = [
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'TRACE',
  'PROPFIND',
  'LOCK',
  'SEARCH',
];

const corpus: Case[] = [
  ...traversal.map((target) => ({ name: `traversal ${target}`, wire: request('GET', target) })),
  ...badNumbers.flatMap((value) => [
    { name: `task_id ${value}`, wire: request('GET', `/tasks/${value}/image`) },
    { name: `size ${value}`, wire: request('GET', `/tasks/1/bytes/${value}`) },
    { name: `HEAD task_id ${value}`, wire: request('HEAD', `/tasks/${value}/image`) },
  ]),
  { name: 'task_id empty', wire: request('GET', '/tasks//image') },
  { name: 'size empty', wire: request('GET', '/tasks/1/bytes/') },
  { name: 'size over MAX_STREAM_BYTES', wire: request('GET', '/tasks/1/bytes/1073741825') },
  { name: 'raw unicode digit', wire: request('GET', '/tasks/\xd9\xa1/image') },
  { name: 'raw space in task_id', wire: request('GET', '/tasks/1 1/image') },
  { name: 'bad download flag', wire: request('GET', `${IMAGE}?download=%0d%0aset-cookie:x`) },
  ...ranges.map((range) => ({
    name: `range ${range.slice(0, 40)}`,
    wire: request('GET', IMAGE, `range: ${range}\r\n`),
    alsoAllowed: [200, 206, 416],
  })),
  {
    name: 'range and a garbage If-Range',
    wire: request('GET', IMAGE, 'range: bytes=0-1\r\nif-range: "x\r\n'),
    alsoAllowed: [200, 206],
  },
  {
    name: 'two range headers',
    wire: request('GET', IMAGE, 'range: bytes=0-1\r\nrange: bytes=2-3\r\n'),
    alsoAllowed: [200, 206],
  },
  {
    name: '10,000 ranges, past the header limit',
    wire: request('GET', IMAGE, `range: bytes=${'0-1,'.repeat(10_000)}0-1\r\n`),
  },
  { name: 'bare CR in a header value', wire: request('GET', IMAGE, 'x-a: 1\rset-cookie: x\r\n') },
  { name: 'bare LF in a header value', wire: request('GET', IMAGE, 'x-a: 1\nset-cookie: x\r\n') },
  { name: 'NUL in a header value', wire: request('GET', IMAGE, 'x-a: 1\x00x\r\n') },
  { name: 'obsolete line folding', wire: request('GET', IMAGE, 'x-a: 1\r\n set-cookie: x\r\n') },
  { name: 'space before colon', wire: request('GET', IMAGE, 'range : bytes=0-1\r\n') },
  { name: 'CR LF in the target', wire: request('GET', `${IMAGE}\r\nx-a: 1`) },
  {
    name: 'content-length twice',
    wire: request('GET', IMAGE, 'content-length: 1\r\ncontent-length: 2\r\n'),
  },
  {
    name: 'content-length with transfer-encoding',
    wire: request('GET', IMAGE, 'content-length: 3\r\ntransfer-encoding: chunked\r\n'),
  },
  {
    name: 'bad chunked body',
    wire: `${request('GET', IMAGE, 'transfer-encoding: chunked\r\n')}zz\r\n`,
  },
  { name: 'no host on HTTP/1.1', wire: `GET ${IMAGE} HTTP/1.1\r\nconnection: close\r\n\r\n` },
  { name: 'host twice', wire: request('GET', IMAGE, 'Host: elsewhere\r\n') },
  { name: 'URL past MAX_URL_LENGTH', wire: request('GET', `${IMAGE}?pad=${'a'.repeat(3_000)}`) },
  { name: 'URL past the header limit', wire: request('GET', `${IMAGE}?pad=${'a'.repeat(20_000)}`) },
  { name: 'long task_id', wire: request('GET', `/tasks/${'1'.repeat(1_000)}/image`) },
  {
    name: 'header past the limit',
    wire: request('GET', IMAGE, `x-pad: ${'a'.repeat(20_000)}\r\n`),
  },
  ...methods.map((method) => ({ name: `method ${method}`, wire: request(method, IMAGE) })),
  {
    name: 'POST with a body',
    wire: `${request('POST', '/tasks/1/bytes/10', 'content-length: 5\r\n')}hello`,
  },
  { name: 'CONNECT', wire: request('CONNECT', 'gateway:443') },
  { name: 'garbage method', wire: request('G3T<>', IMAGE) },
  { name: 'lower-case method', wire: request('get', IMAGE) },
  { name: 'empty method', wire: request('', IMAGE) },
  ...[
    'HTTP/2.0',
    'HTTP/3.0',
    'HTTP/1.2',
    'HTTP/0.9',
    'HTTPS/1.1',
    'http/1.1',
    'HTTP/1.1x',
    'HTTP/11',
  ].map((version) => ({ name: `version ${version}`, wire: request('GET', IMAGE, '', version) })),
  { name: 'no version', wire: `GET ${IMAGE}\r\n\r\n` },
  {
    name: 'garbage pipelined after a good request',
    wire: `GET ${IMAGE} HTTP/1.1\r\nhost: gateway\r\n\r\nGARBAGE / HTTP/1.1\r\n\r\n`,
    alsoAllowed: [200],
  },
  {
    name: 'a good request pipelined after garbage',
    wire: `GET / HTTP/1.1\r\nx: \x01\r\n\r\n${request('GET', IMAGE)}`,
  },
  { name: 'garbage line', wire: '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n' },
];

/** Keys of the image route (tasks 7, 8 and 9) that are not regular files of the bucket. */
const HOSTILE_FILES = {
  symlink: 'test/7/image.jpg',
  fifo: 'test/8/image.jpg',
  directory: 'test/9/image.jpg',
};

let store: TempStore;
let upstream: LocalUpstream;
let gateway: RunningGateway;

beforeAll(async () => {
  store = await tempStore('hostile');
  await store.put('images', 'test/1/image.jpg', patternBytes(0, SIZE));
  await store.put('', 'secret.txt', SECRET);
  await store.put('images', 'secret.txt', SECRET);
  await mkdir(path.dirname(store.file('images', HOSTILE_FILES.symlink)), { recursive: true });
  await symlink(store.file('', 'secret.txt'), store.file('images', HOSTILE_FILES.symlink));
  await mkdir(path.dirname(store.file('images', HOSTILE_FILES.fifo)), { recursive: true });
  execFileSync('mkfifo', [store.file('images', HOSTILE_FILES.fifo)]);
  await mkdir(store.file('images', HOSTILE_FILES.directory), { recursive: true });
  upstream = await startLocalUpstream();
  gateway = await startGateway({
    ...store.env,
    UPSTREAM_BASE_URL: upstream.baseUrl,
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.stop();
  await store?.remove();
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The bytes a 200 or 206 of the test image must carry, from its status and content-range. */
function expectedBody(answer: RawResponse): Buffer | undefined {
  if (answer.status === 200) return patternBytes(0, SIZE);
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(answer.headers['content-range'] ?? '');
  if (!range || Number(range[3]) !== SIZE) return undefined;
  return patternBytes(Number(range[1]), Number(range[2]) + 1);
}

/**
 * A 200/206/416 on the image must be exactly right; anything else a 4xx with a detail. Every
 * answer, those written on the socket before Fastify included, says `nosniff`.
 */
function checkAnswer(test: Case, answer: RawResponse): void {
  const why = `${test.name}: ${answer.text.slice(0, 300)}`;
  const body = answer.body.toString('latin1');
  expect.soft(answer.headers['x-content-type-options'], why).toBe('nosniff');
  for (const leak of [store.dir, SECRET, 'Error:', ' at ', '127.0.0.1']) {
    expect.soft(body, why).not.toContain(leak);
  }
  if (test.alsoAllowed?.includes(answer.status) && answer.status !== 416) {
    const expected = expectedBody(answer);
    expect.soft(expected, `${why}: no valid content-range`).toBeDefined();
    if (expected) expect.soft(sha256(answer.body), why).toBe(sha256(expected));
    return;
  }
  if (answer.status === 416) {
    expect.soft(test.alsoAllowed, why).toContain(416);
    expect.soft(answer.headers['content-range'], why).toBe(`bytes */${SIZE}`);
  } else {
    expect.soft(answer.status, why).toBeGreaterThanOrEqual(400);
    expect.soft(answer.status, why).toBeLessThan(500);
  }
  // A HEAD is answered without the body its GET would carry.
  if (test.wire.startsWith('HEAD ')) return;
  expect.soft(answer.headers['content-type'], why).toMatch(/^application\/json/);
  expect.soft(parseJson(body), why).toHaveProperty('detail');
}

describe('hostile input', () => {
  it(`answers each of ${corpus.length} raw requests with a 4xx and a JSON detail`, async () => {
    for (const test of corpus) {
      const answer = await rawRequest(gateway.url, test.wire);
      expect.soft(answer, `${test.name}: connection closed without an answer`).toBeDefined();
      if (answer) checkAnswer(test, answer);
    }
  });

  it('closes the connection after a request without Host: nothing pipelined after it is served', async () => {
    const pipelined = `GET ${IMAGE} HTTP/1.1\r\n\r\n${request('GET', IMAGE)}`;
    const answer = await rawRequest(gateway.url, pipelined);
    expect(answer?.status).toBe(400);
    expect(answer?.headers.connection).toBe('close');
    expect(answer?.text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 400']);
  });

  it('keeps serving after the corpus', async () => {
    for (const test of corpus) await rawRequest(gateway.url, test.wire);
    const image = await fetch(`${gateway.url}${IMAGE}`);
    expect(image.status).toBe(200);
    expect(sha256(Buffer.from(await image.arrayBuffer()))).toBe(sha256(patternBytes(0, SIZE)));
    const bytes = await fetch(`${gateway.url}/tasks/1/bytes/1000`);
    expect(bytes.status).toBe(200);
    expect(sha256(Buffer.from(await bytes.arrayBuffer()))).toBe(sha256(patternBytes(0, 1000)));
  });
});

/** Opens and closes the FIFO for writing, which releases any reader stuck opening it. */
async function releaseReaders(fifo: string): Promise<void> {
  const writer = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
  await writer?.close();
}

describe('files in the store that are no regular file of the bucket', () => {
  const NOT_FOUND = '{"detail":"Image not found"}';

  // A request stuck opening the FIFO must fail its test, not hold the thread pool for the next.
  afterEach(() => releaseReaders(store.file('images', HOSTILE_FILES.fifo)));

  it.each([
    ['a symlink to a file outside the bucket', 7],
    ['a FIFO', 8],
    ['a directory', 9],
  ])('answers %s as a missing image, at once', async (_name, task) => {
    const get = await rawRequest(gateway.url, request('GET', `/tasks/${task}/image`), 2_000);
    expect(get?.status).toBe(404);
    expect(get?.body.toString()).toBe(NOT_FOUND);
    const head = await rawRequest(gateway.url, request('HEAD', `/tasks/${task}/image`), 2_000);
    expect(head?.status).toBe(404);
    expect(head?.body.length).toBe(0);
  });

  it('answers more FIFO requests at once than the thread pool has threads, then serves', async () => {
    const asked = Array.from({ length: 8 }, () =>
      rawRequest(gateway.url, request('GET', '/tasks/8/image'), 2_000),
    );
    for (const answer of await Promise.all(asked)) expect(answer?.status).toBe(404);
    const image = await rawRequest(gateway.url, request('GET', IMAGE), 2_000);
    expect(image?.status).toBe(200);
    expect(sha256(image?.body ?? Buffer.alloc(0))).toBe(sha256(patternBytes(0, SIZE)));
  });
});
