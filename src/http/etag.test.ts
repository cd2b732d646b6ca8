import { describe, expect, it } from 'vitest';
import { isWeak, parseEtagList, strongMatch } from './etag.js';

describe('entity tags', () => {
  it('tells weak tags', () => {
    expect(isWeak('W/"a"')).toBe(true);
    expect(isWeak('"a"')).toBe(false);
  });

  it('splits lists without splitting on commas inside quotes', () => {
    expect(parseEtagList('"a", W/"b",  "c,d"')).toEqual(['"a"', 'W/"b"', '"c,d"']);
    expect(parseEtagList('*')).toEqual(['*']);
    expect(parseEtagList('')).toEqual([]);
  });

  it('compares strongly: both strong and identical', () => {
    expect(strongMatch('"a"', '"a"')).toBe(true);
    expect(strongMatch('"a"', '"b"')).toBe(false);
    expect(strongMatch('W/"a"', '"a"')).toBe(false);
    expect(strongMatch('"a"', 'W/"a"')).toBe(false);
  });
});
