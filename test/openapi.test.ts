import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, patternSha256 } from '../dev/pattern.js';
import { type RunningGateway, startGateway } from './helpers/gateway.js';
import { download, pathParamIssue } from './helpers/http-client.js';
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
