import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBenchServers } from '../../bench/build.js';
import { type Origin, startS3rverOrigin } from '../../bench/origins.js';
import { allPaths, type PathContext, type RunningPath } from '../../bench/paths.js';
import { patternBytes, patternSha256 } from '../../dev/pattern.js';

const MIB = 1024 * 1024;
const SIZES = [16 * 1024, 3 * MIB];

/** GETs a URL; status, headers and the body's sha256. */
async function fetchDigest(path: RunningPath, bytes: number, headers: Record<string, string> = {}) {
  const {
    statusCode,
    headers: answer,
    body,
  } = await request(path.url(bytes), {
    headers: { ...path.headers, ...headers },
  });
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return { statusCode, headers: answer, sha256: hash.digest('hex') };
}

// The bench's comparison is only fair if every path delivers the same bytes from the origin.
describe('bench paths from an s3rver origin', () => {
  // Inside the repository, so that the compiled servers resolve node_modules and ESM.
  const buildDir = path.resolve(`.tmp/bench-test-build-${process.pid}`);
  let directory: string;
  let origin: Origin;
  let context: PathContext;
  const running: RunningPath[] = [];

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'streamgate-bench-test-'));
    buildBenchServers(buildDir);
    origin = await startS3rverOrigin(SIZES);
    context = {
      workers: 2,
      sizes: SIZES,
      buildDir,
      scratchDir: path.join(directory, 'scratch'),
      nginx: undefined,
    };
  });

  afterAll(async () => {
    await Promise.all(running.map((started) => started.stop()));
    await origin?.stop();
    await rm(directory, { recursive: true, force: true });
    await rm(buildDir, { recursive: true, force: true });
  });

  for (const name of [
    'direct',
    'raw TCP relay',
    'bare Node proxy',
    'bare Fastify proxy (1 process)',
  ]) {
    it(`${name} delivers the object byte-identical, as many times as asked`, async () => {
      const spec = allPaths(2).find((candidate) => candidate.name === name);
      if (spec === undefined) throw new Error(`no path ${name}`);
      const started = await spec.start(origin, context);
      running.push(started);
      if (name !== 'direct') expect(started.root).toBeTypeOf('number');
      for (const bytes of SIZES) {
        for (let i = 0; i < 3; i++) {
          const answer = await fetchDigest(started, bytes);
          expect(answer.statusCode).toBe(200);
          expect(Number(answer.headers['content-length'])).toBe(bytes);
          expect(answer.sha256).toBe(patternSha256(0, bytes));
        }
      }
    });
  }

  it.each(['bare Node proxy', 'bare Fastify proxy (1 process)'])(
    'the %s relays a Range request and its 206',
    async (name) => {
      const spec = allPaths(1).find((candidate) => candidate.name === name);
      const started = await spec?.start(origin, { ...context, workers: 1 });
      if (started === undefined) throw new Error(`no ${name}`);
      running.push(started);
      const answer = await fetchDigest(started, 3 * MIB, { range: 'bytes=1000-1999999' });
      expect(answer.statusCode).toBe(206);
      expect(answer.headers['content-range']).toBe(`bytes 1000-1999999/${3 * MIB}`);
      expect(answer.sha256).toBe(
        createHash('sha256').update(patternBytes(1000, 2_000_000)).digest('hex'),
      );
    },
  );
});
