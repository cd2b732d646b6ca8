import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A fresh embedded store (DATA_DIR) in a temporary directory, removed by `remove()`. */
export interface TempStore {
  dir: string;
  /** The gateway settings that serve from this store. */
  env: { STORAGE_BACKEND: 'fs'; DATA_DIR: string };
  /** The file of an object. */
  file(bucket: string, key: string): string;
  /** Stores an object from bytes or a stream; returns its file. */
  put(bucket: string, key: string, body: Buffer | string | Readable): Promise<string>;
  /** Stores a sparse object of `size` zero bytes that takes no disk. */
  putSparse(bucket: string, key: string, size: number): Promise<string>;
  remove(): Promise<void>;
}

export async function tempStore(name: string): Promise<TempStore> {
  const dir = await mkdtemp(path.join(tmpdir(), `streamgate-${name}-`));
  const file = (bucket: string, key: string) => path.join(dir, bucket, key);
  const prepare = async (bucket: string, key: string) => {
    const target = file(bucket, key);
    await mkdir(path.dirname(target), { recursive: true });
    return target;
  };
  return {
    dir,
    env: { STORAGE_BACKEND: 'fs', DATA_DIR: dir },
    file,
    async put(bucket, key, body) {
      const target = await prepare(bucket, key);
      if (typeof body === 'string' || Buffer.isBuffer(body)) await writeFile(target, body);
      else await pipeline(body, createWriteStream(target));
      return target;
    },
    async putSparse(bucket, key, size) {
      const target = await prepare(bucket, key);
      await writeFile(target, '');
      await truncate(target, size);
      return target;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
