import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, patternSha256 } from '../dev/pattern.js';
import { type RunningGateway, startGateway } from './helpers/gateway.js';
import { download, pathParamIssue } from './helpers/http-client.js';
import { rawRequest } from './helpers/raw-http.js';
import { type TempStore, tempStore } from './helpers/store.js';

const run = promisify(execFile);

interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: { in: string; name: string }[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }>; headers?: object }>;
}

let store: TempStore;
let gateway: RunningGateway;
let document: {
  info: { version: string; license: { name: string } };
  servers: unknown[];
  paths: Record<string, Record<string, Operation>>;
};

beforeAll(async () => {
  store = await tempStore('openapi');
  await store.put('images', 'test/1/image.jpg', patternBytes(0, 100_000));
  gateway = await startGateway({
    ...store.env,
    UPSTREAM_BASE_URL: 'http://127.0.0.1:9',
    FIRST_BYTE_TIMEOUT_MS: '2000',
  });
  document = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as typeof document;
});

afterAll(async () => {
  await gateway?.close();
  await store?.remove();
});

describe('the OpenAPI document', () => {
  it("passes Redocly's recommended rules without an error or a warning", async () => {
    const file = `${store.dir}/openapi.json`;
    await writeFile(file, JSON.stringify(document));
    const { stdout, stderr } = await run(
      'npx',
      ['redocly', 'lint', '--extends', 'recommended', '--format', 'json', file],
      { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
    ).catch((error: { stdout: string; stderr: string }) => error);
    const report: { totals: { errors: number; warnings: number }; problems: unknown[] } =
      JSON.parse(stdout.slice(stdout.indexOf('{')));
    expect(report.problems, stderr).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('carries the version of package.json, the MIT licence and this gateway as its server', async () => {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    expect(document.info.version).toBe(pkg.version);
    expect(document.info.license.name).toBe('MIT');
    expect(document.servers).toEqual([{ url: '/', description: 'This gateway' }]);
  });

  it('documents each object route: binary bodies, headers, every failure, honoured headers', () => {
    const get = document.paths['/tasks/{task_id}/image']?.get;
    const head = document.paths['/tasks/{task_id}/image']?.head;
    expect(get?.operationId).toBe('getTaskImage');
    expect(head?.operationId).toBe('headTaskImage');
    expect(get?.tags).toEqual(['objects']);
    expect(Object.keys(get?.responses ?? {}).sort()).toEqual(
      [
        '200',
        '206',
        '304',
        '400',
        '401',
        '403',
        '404',
        '412',
        '414',
        '416',
        '422',
        '502',
        '503',
        '504',
      ].sort(),
    );
    expect(get?.responses['200']?.content).toEqual({
      'image/jpeg': { schema: { type: 'string', format: 'binary' } },
    });
    expect(Object.keys(get?.responses['206']?.headers ?? {})).toEqual(
      expect.arrayContaining(['content-length', 'content-range', 'etag', 'last-modified']),
    );
    expect(Object.keys(get?.responses['304']?.headers ?? {})).toEqual(
      expect.arrayContaining(['etag', 'last-modified', 'cache-control']),
    );
    expect(Object.keys(get?.responses['503']?.headers ?? {})).toContain('retry-after');
    const detail = get?.responses['422']?.content?.['application/json']?.schema;
    expect(JSON.stringify(detail)).toContain('"loc"');
    const headers = (get?.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
    expect(headers).toEqual(
      expect.arrayContaining([
        'range',
        'if-range',
        'if-none-match',
        'if-match',
        'if-modified-since',
        'if-unmodified-since',
      ]),
    );
    const bytes = document.paths['/tasks/{task_id}/bytes/{size}']?.get;
    expect(Object.keys(bytes?.responses['200']?.content ?? {})).toEqual([
      'application/octet-stream',
    ]);
    // The bytes route words a missing object as a source failure: it never answers 404.
    expect(Object.keys(bytes?.responses ?? {})).not.toContain('404');
    expect(Object.keys(bytes?.responses ?? {})).toContain('502');
  });

  it('documents without changing what is sent: streams stream, errors keep their shape', async () => {
    const got = await download(`${gateway.url}/tasks/1/image`);
    expect(got.sha256).toBe(patternSha256(0, 100_000));
    const ranged = await download(`${gateway.url}/tasks/1/image`, {
      headers: { range: 'bytes=10-19' },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.sha256).toBe(patternSha256(10, 20));
    const invalid = await download(`${gateway.url}/tasks/x/image`);
    expect(invalid.json).toEqual(
      pathParamIssue(
        'task_id',
        'Input should be a valid integer, unable to parse string as an integer',
        'int_parsing',
      ),
    );
    const unsatisfiable = await download(`${gateway.url}/tasks/1/image`, {
      headers: { range: 'bytes=999999-' },
    });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.json).toEqual({ detail: 'Range Not Satisfiable' });
    // No upstream runs here.
    const ready = await download(`${gateway.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({
      detail: 'Not ready',
      checks: { storage: 'ok', upstream: 'unavailable' },
    });
  });
});

describe('the API docs', () => {
  it('are loaded the first time they are asked for, not with the app', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/service-packages.ts'],
      { timeout: 30_000 },
    );
    const { ready, afterDocs }: { ready: string[]; afterDocs: string[] } = JSON.parse(stdout);
    // The check sees what is loaded: Fastify itself.
    expect(ready).toContain('fastify');
    for (const docs of ['@fastify/swagger', '@fastify/swagger-ui', 'yaml', '@fastify/static']) {
      expect(ready).not.toContain(docs);
      expect(afterDocs).toContain(docs);
    }
  });

  it("serve the UI's files whole or in ranges, with their validators, HEAD and the catalogue's errors", async () => {
    const bundle = 'node_modules/@fastify/swagger-ui/static/swagger-ui-bundle.js';
    const file = await readFile(bundle);
    const expected = createHash('sha256').update(file).digest('hex');
    const got = await download(`${gateway.url}/docs/static/swagger-ui-bundle.js`);
    expect(got).toMatchObject({ status: 200, sha256: expected, complete: true });
    expect(got.headers['content-type']).toMatch(/^application\/javascript/);
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    expect(got.headers['x-request-id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const etag = got.headers.etag as string;
    expect(etag).toMatch(/^(W\/)?"/);

    const head = await download(`${gateway.url}/docs/static/swagger-ui-bundle.js`, {
      method: 'HEAD',
    });
    expect(head).toMatchObject({ status: 200, length: 0 });
    expect(head.headers['content-length']).toBe(got.headers['content-length']);
    expect(head.headers.etag).toBe(etag);

    const revalidated = await download(`${gateway.url}/docs/static/swagger-ui-bundle.js`, {
      headers: { 'if-none-match': etag },
    });
    expect(revalidated).toMatchObject({ status: 304, length: 0 });

    const ranged = await download(`${gateway.url}/docs/static/swagger-ui-bundle.js`, {
      headers: { range: 'bytes=0-9' },
    });
    expect(ranged).toMatchObject({ status: 206, length: 10 });
    expect(ranged.sha256).toBe(createHash('sha256').update(file.subarray(0, 10)).digest('hex'));
    expect(ranged.headers['content-range']).toBe(`bytes 0-9/${file.length}`);
    const beyond = await download(`${gateway.url}/docs/static/swagger-ui-bundle.js`, {
      headers: { range: `bytes=${file.length}-` },
    });
    expect(beyond.status).toBe(416);
    expect(beyond.json).toEqual({ detail: 'Range Not Satisfiable' });

    const stale = await download(`${gateway.url}/docs/static/swagger-ui-bundle.js`, {
      headers: { range: 'bytes=0-9', 'if-range': '"an-older-version"' },
    });
    expect(stale).toMatchObject({ status: 200, sha256: expected });
    expect(beyond.headers['content-range']).toBe(`bytes */${file.length}`);

    const page = await download(`${gateway.url}/docs/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);

    const missing = await download(`${gateway.url}/docs/static/nope.js`);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ detail: 'Not Found' });
    // Written as is (a URL would resolve the dot segment): the docs app knows the app's routes
    // to describe them, not to serve them.
    for (const path of ['/docs/../tasks/1/image', '/docs/%2e%2e/tasks/x/image']) {
      const dotted = await rawRequest(
        gateway.url,
        `GET ${path} HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n`,
      );
      expect(dotted?.status, path).toBe(404);
      expect(JSON.parse(dotted?.body.toString() ?? '')).toEqual({ detail: 'Not Found' });
    }

    const asJson = await download(`${gateway.url}/docs/json`);
    expect(asJson.status).toBe(200);
    const viaUi = await (await fetch(`${gateway.url}/docs/json`)).json();
    expect(viaUi).toEqual(document);
  });

  // The gateway runs in this process: its open files are this process's.
  it('close the file a UI answer was reading when its body is not sent (HEAD, here)', async () => {
    const openBundles = async () => {
      const links = await Promise.all(
        (await readdir('/proc/self/fd')).map((fd) =>
          readlink(`/proc/self/fd/${fd}`).catch(() => ''),
        ),
      );
      return links.filter((link) => link.endsWith('swagger-ui-bundle.js')).length;
    };
    for (let i = 0; i < 20; i++) {
      const head = await download(`${gateway.url}/docs/static/swagger-ui-bundle.js`, {
        method: 'HEAD',
      });
      expect(head.status).toBe(200);
    }
    let open = await openBundles();
    for (let wait = 0; open > 0 && wait < 40; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      open = await openBundles();
    }
    expect(open).toBe(0);
  });
});
