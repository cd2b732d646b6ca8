import { execFileSync } from 'node:child_process';
import { constants, mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSource } from './local.js';
import { NotModified, type Source } from './source.js';

/** `promise`, or a rejection once `ms` pass: an open that hangs must fail, not stall the run. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Whether anything holds the FIFO open for reading: a non-blocking writer opens only then. */
async function hasReader(fifo: string): Promise<boolean> {
  try {
    await (await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK)).close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw error;
  }
}

async function text(source: Source, key: string): Promise<string> {
  const opened = await source.read(key, { signal: new AbortController().signal });
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('LocalSource', () => {
  let root: string;
  let source: Source;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'streamgate-local-'));
    await mkdir(path.join(root, 'images/dir'), { recursive: true });
    await writeFile(path.join(root, 'images/a b ü.jpg'), 'hello world');
    await writeFile(path.join(root, 'secret.txt'), 'do not serve');
    await writeFile(path.join(root, 'images-other'), 'sibling');
    await symlink(path.join(root, 'secret.txt'), path.join(root, 'images/escape.jpg'));
    await symlink('../../secret.txt', path.join(root, 'images/dir/relative-escape.jpg'));
    await symlink(root, path.join(root, 'images/outside'));
    await symlink('a b ü.jpg', path.join(root, 'images/alias.jpg'));
    execFileSync('mkfifo', [path.join(root, 'images/pipe.jpg')]);
    source = new LocalSource(root, 'images');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('serves a key with spaces and unicode, and exactly the range asked', async () => {
    const opened = await source.read('a b ü.jpg', { range: { start: 6, end: 10 }, signal });
    const chunks: Buffer[] = [];
    for await (const chunk of opened.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('world');
    expect(opened.info.size).toBe(11);
    expect(opened.info.etag).toMatch(/^"b-[0-9a-f]+"$/);
  });

  it.each([
    '../secret.txt',
    'dir/../../secret.txt',
    '/etc/passwd',
    '../images-other',
    'a b ü.jpg\0.png',
    'dir',
    '',
    'missing.jpg',
    'escape.jpg',
    'dir/relative-escape.jpg',
    'outside/secret.txt',
  ])('answers %j as not found', async (key) => {
    await expect(source.stat(key, signal)).rejects.toMatchObject({ failure: 'not-found' });
    await expect(source.read(key, { signal })).rejects.toMatchObject({ failure: 'not-found' });
  });

  it('follows a symlink that stays inside the bucket', async () => {
    expect(await text(source, 'alias.jpg')).toBe('hello world');
  });

  it('answers a FIFO as not found at once, and does not keep it open', async () => {
    const fifo = path.join(root, 'images/pipe.jpg');
    try {
      await expect(within(source.stat('pipe.jpg', signal), 2_000)).rejects.toMatchObject({
        failure: 'not-found',
      });
      await expect(within(source.read('pipe.jpg', { signal }), 2_000)).rejects.toMatchObject({
        failure: 'not-found',
      });
      expect(await hasReader(fifo)).toBe(false);
    } finally {
      // A reader stuck in open() holds a thread-pool thread until a writer comes: let it go.
      await hasReader(fifo);
    }
  });

  it('refuses to read another version than If-Match names', async () => {
    await expect(source.read('a b ü.jpg', { ifMatch: '"other"', signal })).rejects.toMatchObject({
      failure: 'precondition-failed',
    });
  });

  it('answers If-None-Match on the current ETag as NotModified, another one with the body', async () => {
    const { etag } = await source.stat('a b ü.jpg', signal);
    await expect(source.read('a b ü.jpg', { ifNoneMatch: etag, signal })).rejects.toBeInstanceOf(
      NotModified,
    );
    const opened = await source.read('a b ü.jpg', { ifNoneMatch: '"older"', signal });
    const chunks: Buffer[] = [];
    for await (const chunk of opened.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello world');
  });
});

describe('LocalSource on a bucket that is a symlink', () => {
  let root: string;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'streamgate-linked-'));
    for (const mount of ['mount-a', 'mount-b']) {
      await mkdir(path.join(root, mount));
      await writeFile(path.join(root, mount, 'image.jpg'), mount);
    }
    await writeFile(path.join(root, 'mount-a/only-a.jpg'), 'only a');
    await symlink('mount-a', path.join(root, 'images'));
    await symlink(path.join(root, 'mount-a/image.jpg'), path.join(root, 'mount-b/to-a.jpg'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('serves the mounted directory, and follows the bucket when it is repointed', async () => {
    const source: Source = new LocalSource(root, 'images');
    expect(await text(source, 'image.jpg')).toBe('mount-a');
    await rm(path.join(root, 'images'));
    await symlink('mount-b', path.join(root, 'images'));
    expect(await text(source, 'image.jpg')).toBe('mount-b');
    await expect(source.stat('only-a.jpg', signal)).rejects.toMatchObject({ failure: 'not-found' });
    await expect(source.stat('to-a.jpg', signal)).rejects.toMatchObject({ failure: 'not-found' });
  });
});
