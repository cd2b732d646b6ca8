import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSource } from './local.js';
import { NotModified, type Source } from './source.js';

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
  ])('answers %j as not found', async (key) => {
    await expect(source.stat(key, signal)).rejects.toMatchObject({ failure: 'not-found' });
    await expect(source.read(key, { signal })).rejects.toMatchObject({ failure: 'not-found' });
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
