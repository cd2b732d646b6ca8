import { constants, type FileHandle, open, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { SourceError } from '../errors.js';
import type { ObjectInfo, ObjectStream, ReadOptions, Source } from './source.js';
import { NotModified } from './source.js';

// O_NONBLOCK: opening a FIFO for reading would block a thread-pool thread until a writer comes
// (it changes nothing for a regular file). O_NOFOLLOW: the real path checked is the one opened,
// even if its last component has been replaced by a symlink since.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** Codes by which a key turns out to name no file of the bucket that can be served. */
const NO_SUCH_OBJECT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENXIO']);

/**
 * The embedded store: objects at `<root>/<bucket>/<key>`. A key can never name a file outside
 * the bucket's directory, through `..` or through a symlink, nor anything but a regular file.
 */
export class LocalSource implements Source {
  /** One file read is as fast as four. */
  readonly parallelParts = false;
  readonly #bucketDir: string;
  /** The real path of the bucket directory, which may itself be a symlink; resolved when used. */
  #realBucketDir: string | undefined;

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
    if (key.includes('\0') || !isInside(file, this.#bucketDir)) {
      throw new SourceError('not-found', 'key outside the bucket');
    }
    return file;
  }

  /** The real path of a key's file; one that leaves the bucket through a symlink is not found. */
  async #realFile(key: string): Promise<string> {
    const resolved = this.#resolve(key);
    const file = await sourceCall(() => realpath(resolved), 'resolve');
    if (!(await this.#inRealBucket(file))) {
      throw new SourceError('not-found', 'symlink out of the bucket');
    }
    return file;
  }

  async #inRealBucket(file: string): Promise<boolean> {
    const known = this.#realBucketDir;
    if (known !== undefined && isInside(file, known)) return true;
    // Resolved again on a miss: an operator may have pointed the bucket's symlink elsewhere.
    const current = await sourceCall(() => realpath(this.#bucketDir), 'resolve');
    this.#realBucketDir = current;
    return isInside(file, current);
  }

  /** Opens the key's file; `describe` then refuses anything but a regular file. */
  async #open(key: string): Promise<FileHandle> {
    const file = await this.#realFile(key);
    return sourceCall(() => open(file, OPEN_FLAGS), 'open');
  }
}

function isInside(file: string, directory: string): boolean {
  return file.startsWith(directory + path.sep);
}

/** Runs a file-system call, its failure as a SourceError: not found when no such file exists. */
async function sourceCall<T>(call: () => Promise<T>, doing: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && NO_SUCH_OBJECT.has(code)) {
      throw new SourceError('not-found', 'no such object', { cause: error });
    }
    throw new SourceError('unavailable', `cannot ${doing} object`, { cause: error });
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
