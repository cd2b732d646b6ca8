import { describe, expect, it } from 'vitest';
import { pinnedIfMatch } from './etag-pin.js';

describe('pinnedIfMatch', () => {
  it('pins when the client names no version, any version, or the pinned one', () => {
    expect(pinnedIfMatch(undefined, '"a"')).toBe('"a"');
    expect(pinnedIfMatch(' * ', '"a"')).toBe('"a"');
    expect(pinnedIfMatch('"b", "a"', '"a"')).toBe('"a"');
  });

  it('finds no version when the client asks for another one, or a weak one', () => {
    expect(pinnedIfMatch('"b"', '"a"')).toBeUndefined();
    expect(pinnedIfMatch('W/"a"', '"a"')).toBeUndefined();
  });
});
