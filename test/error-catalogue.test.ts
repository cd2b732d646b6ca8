import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalogue, VALIDATION_FAILED } from '../src/errors.js';

/** The rows of the README's error table: code, status and detail. */
function documentedErrors(): Map<string, { status: number; detail: string }> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rows = readme.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (`[^`]*`|[^|]+) \|/gm);
  return new Map(
    [...rows].map(([, code = '', status = '', detail = '']) => [
      code,
      { status: Number(status), detail: detail.trim().replace(/^`|`$/g, '') },
    ]),
  );
}

describe('the README documents the error catalogue exactly', () => {
  const documented = documentedErrors();

  it('documents every catalogued code with its status and detail', () => {
    for (const [code, { status, detail }] of Object.entries(catalogue)) {
      expect(documented.get(code), code).toEqual({ status, detail });
    }
    expect(documented.get(VALIDATION_FAILED)?.status).toBe(422);
  });

  it('documents no code that the catalogue does not have', () => {
    const known = new Set([...Object.keys(catalogue), VALIDATION_FAILED]);
    expect([...documented.keys()].filter((code) => !known.has(code))).toEqual([]);
  });
});
