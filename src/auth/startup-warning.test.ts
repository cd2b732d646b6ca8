import { describe, expect, it } from 'vitest';
import { loadAccessSettings } from './settings.js';
import { warnIfOpenToNetwork } from './startup-warning.js';

function warnings(host: string, env: Record<string, string>): unknown[][] {
  const calls: unknown[][] = [];
  const log = { warn: (...args: unknown[]) => void calls.push(args) };
  warnIfOpenToNetwork(log, host, loadAccessSettings(env));
  return calls;
}

describe('warnIfOpenToNetwork', () => {
  it('warns when listening beyond loopback with no access control', () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'example.test']) {
      expect(warnings(host, {}), host).toHaveLength(1);
    }
  });

  it('stays quiet on loopback, or with access control', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) {
      expect(warnings(host, {}), host).toEqual([]);
    }
    expect(warnings('0.0.0.0', { API_KEYS: 'a-key-of-16-chars-at-least' })).toEqual([]);
  });
});
