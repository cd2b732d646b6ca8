import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_TTL_S, SignUrlError, signUrl, verifySignedUrl } from './signed-url.js';

const KEY = { kid: 'k1', secret: 'an-example-secret-of-32-bytes-or-more' };
const NOW = Date.UTC(2026, 0, 1) as number;

describe('signUrl', () => {
  it('matches a reference vector computed from the documented canonical form', () => {
    const url = signUrl('/tasks/7/image?download=1', KEY, { now: NOW, ttlSeconds: 300 });
    const exp = NOW / 1000 + 300;
    const canonical = `streamgate-url-v1\n/tasks/7/image\ndownload=1&exp=${exp}&kid=k1`;
    const sig = createHmac('sha256', KEY.secret).update(canonical).digest('base64url');
    expect(url).toBe(`/tasks/7/image?download=1&exp=${exp}&kid=k1&sig=${sig}`);
  });

  it('encodes a pinned ETag and signs it', () => {
    const url = signUrl('/tasks/1/image', KEY, { now: NOW, etag: '"5-abc"' });
    expect(url).toMatch(/^\/tasks\/1\/image\?etag=%225-abc%22&exp=\d+&kid=k1&sig=[\w-]{43}$/);
    expect(verifySignedUrl(url, [KEY], NOW)).toEqual({ ok: true, etag: '"5-abc"' });
  });

  it.each([
    ['tasks/1/image', {}],
    ['/tasks/1/image', { ttlSeconds: 0 }],
    ['/tasks/1/image', { ttlSeconds: MAX_TTL_S + 1 }],
    ['/tasks/1/image', { ttlSeconds: 1.5 }],
    ['/tasks/1/image', { etag: 'W/"weak"' }],
    ['/tasks/1/image', { etag: 'unquoted' }],
    ['/tasks/1/image?sig=x', {}],
    ['/tasks/1/image?exp=1', {}],
    ['/tasks/1/image??download=1', {}],
    ['/tasks/%zz/image', {}],
  ])('refuses to sign %s with %j', (target, options) => {
    expect(() => signUrl(target, KEY, options)).toThrow(SignUrlError);
  });
});

/** The same signed URL with `sig`, which `signUrl` puts last, moved to the front. */
function sigFirst(signed: string): string {
  return signed.replace(/\?(.*)&(sig=[^&]*)$/, '?$2&$1');
}

describe('verifySignedUrl', () => {
  const url = signUrl('/tasks/1/bytes/100?download=1', KEY, { now: NOW });

  it('accepts the URL until it expires, and harmless re-encodings of it', () => {
    expect(verifySignedUrl(url, [KEY], NOW)).toEqual({ ok: true, etag: undefined });
    expect(verifySignedUrl(url, [KEY], NOW + 299_999).ok).toBe(true);
    const reencoded = url.replace('/1/', '/%31/').replace('download=1', 'download=%31');
    expect(verifySignedUrl(reencoded, [KEY], NOW).ok).toBe(true);
    const reordered = `/tasks/1/bytes/100?${url.split('?')[1]?.split('&').reverse().join('&')}`;
    expect(verifySignedUrl(reordered, [KEY], NOW).ok).toBe(true);
    expect(verifySignedUrl(sigFirst(url), [KEY], NOW).ok).toBe(true);
  });

  it('verifies with any listed key, picked by kid', () => {
    const other = { kid: 'k0', secret: 'another-secret-of-at-least-32-bytes!' };
    expect(verifySignedUrl(url, [other, KEY], NOW).ok).toBe(true);
    expect(verifySignedUrl(url, [other], NOW)).toEqual({
      ok: false,
      failure: 'signed-url-unknown-kid',
    });
  });

  it.each([
    ['expired', url, NOW + 300_000, 'signed-url-expired'],
    ['another task', url.replace('/1/', '/2/'), NOW, 'signed-url-bad-signature'],
    ['another size', url.replace('/100?', '/101?'), NOW, 'signed-url-bad-signature'],
    ['download dropped', url.replace('download=1&', ''), NOW, 'signed-url-bad-signature'],
    ['download changed', url.replace('download=1', 'download=0'), NOW, 'signed-url-bad-signature'],
    ['parameter added', `${url}&x=1`, NOW, 'signed-url-bad-signature'],
    ['parameter doubled', `${url}&download=1`, NOW, 'signed-url-bad-signature'],
    ['sig doubled', `${url}&sig=x`, NOW, 'signed-url-malformed'],
    ['sig empty', url.replace(/sig=.*/, 'sig='), NOW, 'signed-url-malformed'],
    ['exp not a number', url.replace(/exp=\d+/, 'exp=1e10'), NOW, 'signed-url-malformed'],
    ['no kid', url.replace(/kid=k1&/, ''), NOW, 'signed-url-malformed'],
    ['bad path encoding', url.replace('/1/', '/%e0%a4%a/'), NOW, 'signed-url-malformed'],
    ['too far ahead', url, NOW - MAX_TTL_S * 1000, 'signed-url-expiry-too-far'],
    ['a second ? before download', url.replace('?', '??'), NOW, 'signed-url-malformed'],
    ['a second ? before sig', sigFirst(url).replace('?', '??'), NOW, 'signed-url-malformed'],
  ])('refuses a URL with %s', (_name, candidate, now, failure) => {
    expect(verifySignedUrl(candidate, [KEY], now)).toEqual({ ok: false, failure });
  });
});
