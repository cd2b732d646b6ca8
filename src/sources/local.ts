import { type FileHandle, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { SourceError } from '../errors.js';
import type { ObjectInfo, ObjectStream, ReadOptions, Source } from './source.js';
import { NotModified } from './source.js';

/**
 * The embedded store: objects at `<root>/<bucket>/<key>`. A key can never name a file outside
 * the bucket's directory.
 */
export class LocalSource implements Source {
  readonly #bucketDir: string;

  constructor(root: string, bucket: string) {
    this.#bucketDir = path.resolve(root, bucket);
  }

  async stat(key: string): Promise<ObjectInfo> {
    const handle = await this.#open(key);
    try {
      return await describe(handle);
    } finally {
      await handle.close();
    }
  }

  async read(key: string, options: ReadOptions): Promise<ObjectStream> {
    const handle = await this.#open(key);
    try {
      const info = await describe(handle);
      if (options.ifMatch !== undefined && options.ifMatch !== info.etag) {
        throw new SourceError('precondition-failed', 'object changed');
      }
      if (options.ifNoneMatch !== undefined && options.ifNoneMatch === info.etag) {
        throw new NotModified();
      }
      const { range } = options;
      if (range !== undefined && (info.size === undefined || range.end >= info.size)) {
        throw new SourceError('unavailable', 'range outside the object');
      }
      const body = handle.createReadStream({ start: range?.start, end: range?.end });
      return { info, range, body };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async probe(): Promise<void> {
    const directory = await stat(this.#bucketDir).catch(() => undefined);
    if (!directory?.isDirectory()) throw new SourceError('not-found', 'no bucket directory');
  }

  async close(): Promise<void> {}

  /** The file of a key; a key leaving the bucket is not found. */
  #resolve(key: string): string {
    const file = path.resolve(this.#bucketDir, key);
    if (key.includes('\0') || !file.startsWith(this.#bucketDir + path.sep)) {
      throw new SourceError('not-found', 'key outside the bucket');
    }
    return file;
  }

  async #open(key: string): Promise<FileHandle> {
    const file = this.#resolve(key);
    try {
      return await open(file, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
        throw new SourceError('not-found', 'no such object', { cause: error });
      }
      throw new SourceError('unavailable', 'cannot open object', { cause: error });
    }
  }
}

async function describe(handle: FileHandle): Promise<ObjectInfo> {
  const stats = await handle.stat();
  if (!stats.isFile()) throw new SourceError('not-found', 'not a file');
  return {
    size: stats.size,
    // Size and modification time, as nginx derives its ETag.
    etag: `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`,
    lastModified: stats.mtime,
    contentType: undefined,
    cacheControl: undefined,
    acceptRanges: true,
  };
}
