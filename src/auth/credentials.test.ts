import { describe, expect, it } from 'vitest';
import { digest, matchesAnyDigest, safeEqual } from './constant-time.js';
import { MAX_CREDENTIAL_BYTES, presentedCredential } from './credentials.js';

describe('presentedCredential', () => {
  it('takes a signed URL first, then x-api-key, then a bearer token', () => {
    const both = { 'x-api-key': 'key', authorization: 'Bearer tok' };
    expect(presentedCredential('/t?sig=x', both)).toEqual({ kind: 'signed-url' });
    expect(presentedCredential('/t?%73ig=x', {})).toEqual({ kind: 'signed-url' });
    expect(presentedCredential('/t', both)).toEqual({ kind: 'api-key', value: 'key' });
    expect(presentedCredential('/t', { authorization: 'bearer  a.b-c_d~e+f/g==' })).toEqual({
      kind: 'bearer',
      value: 'a.b-c_d~e+f/g==',
    });
    expect(presentedCredential('/t?signature=x', {})).toEqual({ kind: 'none' });
  });

  it('reads any visible ASCII as a bearer token, as API keys may hold it', () => {
    expect(presentedCredential('/t', { authorization: 'Bearer k!$@,;:"key' })).toEqual({
      kind: 'bearer',
      value: 'k!$@,;:"key',
    });
  });

  it('takes a query that starts with a second ? as a signed URL, whatever else is sent', () => {
    const both = { 'x-api-key': 'key', authorization: 'Bearer tok' };
    expect(presentedCredential('/t??sig=x', both)).toEqual({ kind: 'signed-url' });
    expect(presentedCredential('/t???sig=x', {})).toEqual({ kind: 'signed-url' });
    expect(presentedCredential('/t??download=1', both)).toEqual({ kind: 'signed-url' });
    expect(presentedCredential('/t?download=1&?sig=x', both)).toEqual({
      kind: 'api-key',
      value: 'key',
    });
  });

  it.each([
    [{ authorization: 'Basic dXNlcjpwYXNz' }],
    [{ authorization: 'Bearer' }],
    [{ authorization: 'Bearer a b' }],
    [{ authorization: 'Bearer ä' }],
    [{ 'x-api-key': '' }],
    [{ 'x-api-key': ['a', 'b'] }],
  ])('calls %j malformed', (headers) => {
    expect(presentedCredential('/t', headers)).toEqual({ kind: 'malformed' });
  });

  it('refuses an oversized credential before parsing it', () => {
    const big = 'a'.repeat(MAX_CREDENTIAL_BYTES + 1);
    expect(presentedCredential('/t', { authorization: `Bearer ${big}` }).kind).toBe('too-large');
    expect(presentedCredential('/t', { 'x-api-key': big }).kind).toBe('too-large');
    const fits = 'a'.repeat(MAX_CREDENTIAL_BYTES - 7);
    expect(presentedCredential('/t', { authorization: `Bearer ${fits}` }).kind).toBe('bearer');
  });
});

describe('constant-time comparison', () => {
  it('compares secrets of any lengths', () => {
    expect(safeEqual('secret', 'secret')).toBe(true);
    expect(safeEqual('secret', 'secret!')).toBe(false);
    expect(safeEqual('', 'secret')).toBe(false);
    const digests = ['one-key', 'two-key'].map(digest);
    expect(matchesAnyDigest('two-key', digests)).toBe(true);
    expect(matchesAnyDigest('three-key', digests)).toBe(false);
    expect(matchesAnyDigest('one-key', [])).toBe(false);
  });
});
