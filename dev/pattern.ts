import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const BLOCK = 1024 * 1024;

/** 1 MiB of reproducible noise (a SHA-256 chain), the same on every run and machine. */
const noise: Buffer = (() => {
  const block = Buffer.alloc(BLOCK);
  let digest = createHash('sha256').update('streamgate').digest();
  for (let offset = 0; offset < BLOCK; offset += digest.length) {
    digest.copy(block, offset);
    digest = createHash('sha256').update(digest).digest();
  }
  return block;
})();

/**
 * Byte `i` of the test pattern: noise that repeats every MiB, xor the MiB index, so that a
 * body shifted by any offset (even a whole MiB) no longer matches.
 */
export function patternBytes(start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  for (let i = start; i < end; ) {
    const block = Math.floor(i / BLOCK);
    const from = i % BLOCK;
    const count = Math.min(BLOCK - from, end - i);
    const target = out.subarray(i - start, i - start + count);
    noise.copy(target, 0, from, from + count);
    const mask = block & 0xff;
    if (mask !== 0) for (let k = 0; k < count; k++) target[k] = (target[k] as number) ^ mask;
    i += count;
  }
  return out;
}

/** A stream of bytes `start`..`end - 1` of the pattern, in chunks of at most `chunkSize`. */
export function patternStream(start: number, end: number, chunkSize = 64 * 1024): Readable {
  let position = start;
  return new Readable({
    read() {
      if (position >= end) return void this.push(null);
      const next = Math.min(end, position + chunkSize);
      const chunk = patternBytes(position, next);
      position = next;
      this.push(chunk);
    },
  });
}

export function sha256(data: Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of bytes `start`..`end - 1` of the pattern, computed without holding them all. */
export function patternSha256(start: number, end: number): string {
  const hash = createHash('sha256');
  for (let i = start; i < end; i += BLOCK) hash.update(patternBytes(i, Math.min(end, i + BLOCK)));
  return hash.digest('hex');
}
