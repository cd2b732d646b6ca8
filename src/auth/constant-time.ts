import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a credential, the form in which secrets are compared. */
export function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Compares two secrets in constant time. Both sides are hashed first so that equal-length
 * buffers reach `timingSafeEqual` and the time taken says nothing about either length.
 */
export function safeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** True when `presented` hashes to one of `digests`; every digest is compared, match or not. */
export function matchesAnyDigest(presented: string, digests: readonly Buffer[]): boolean {
  const candidate = digest(presented);
  let matched = false;
  for (const expected of digests) matched = timingSafeEqual(candidate, expected) || matched;
  return matched;
}
