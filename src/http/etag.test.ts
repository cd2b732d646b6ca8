import { describe, expect, it } from 'vitest';
import { isWeak, parseEtagList, strongMatch, weakMatch } from './etag.js';

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

  it('compares weakly: identical once W/ is set aside', () => {
    expect(weakMatch('W/"a"', '"a"')).toBe(true);
    expect(weakMatch('"a"', 'W/"a"')).toBe(true);
    expect(weakMatch('W/"a"', 'W/"a"')).toBe(true);
    expect(weakMatch('"a"', '"b"')).toBe(false);
  });
});
