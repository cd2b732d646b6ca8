import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternSha256, sha256 } from '../../dev/pattern.js';
import type { Backend } from './backends.js';
import { CASES, type ConformanceCase } from './cases.js';
import type { ExpectedBody } from './exchanges.js';

/** A body as compared: its length and hash, or its JSON. */
function describeBody(expected: ExpectedBody, body: Buffer): unknown {
  if (expected.kind === 'json') {
    try {
      return { json: JSON.parse(body.toString('utf8')) };
    } catch {
      return { length: body.length, sha256: sha256(body) };
    }
  }
  return { length: body.length, sha256: sha256(body) };
}

function expectedBody(expected: ExpectedBody): unknown {
  if (expected.kind === 'json') return { json: expected.value };
  if (expected.kind === 'empty') return { length: 0, sha256: sha256(Buffer.alloc(0)) };
  return {
    length: expected.end - expected.start,
    sha256: patternSha256(expected.start, expected.end),
  };
}

/** Sends one case's request to the gateway and checks status, headers and body bytes. */
export async function runCase(backend: Backend, testCase: ConformanceCase): Promise<void> {
  const exchange = testCase.build(backend.ctx);
  const url = `${backend.url}/tasks/${exchange.id}/image${exchange.query ?? ''}`;
  const response = await request(url, {
    method: exchange.method,
    headers: exchange.headers,
    headersTimeout: 20_000,
    bodyTimeout: 20_000,
  });
  const body = Buffer.from(await response.body.arrayBuffer());
  const headers: Record<string, string | null> = {};
  for (const name of Object.keys(exchange.expectHeaders)) {
    const value = response.headers[name];
    headers[name] = value === undefined ? null : String(value);
  }
  expect({
    status: response.statusCode,
    headers,
    body: describeBody(exchange.body, body),
  }).toEqual({
    status: exchange.status,
    headers: exchange.expectHeaders,
    body: expectedBody(exchange.body),
  });
}

/** Every case of the table against one backend, started once for the whole table. */
export function conformanceSuite(name: string, start: () => Promise<Backend>): void {
  describe(`image route conformance: ${name}`, () => {
    let backend: Backend | undefined;
    let failure: unknown;
    // A backend that cannot start fails every case, rather than leaving them skipped.
    beforeAll(async () => {
      try {
        backend = await start();
      } catch (error) {
        failure = error;
      }
    });
    afterAll(async () => {
      await backend?.close();
    });
    for (const testCase of CASES) {
      it(testCase.name, async () => {
        if (backend === undefined) throw new Error(`${name} did not start`, { cause: failure });
        await runCase(backend, testCase);
      });
    }
  });
}
