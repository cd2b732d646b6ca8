import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternBytes, sha256 } from '../../dev/pattern.js';

/**
 * The package as a team gets it: built, packed, installed from the tarball into a fresh
 * project, then used from plain JavaScript, from TypeScript, and as the `streamgate` binary.
 * `npm run test:package`; the install reads the npm cache first (`--prefer-offline`).
 */
const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = fileURLToPath(new URL('./package', import.meta.url));
const OBJECT = patternBytes(0, 1024 * 1024 + 3);

interface PackedFile {
  path: string;
}

let work: string;
let project: string;
let packed: PackedFile[];

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'streamgate-package-'));
  project = path.join(work, 'project');
  // `prepack` builds dist/ first.
  const [pack] = JSON.parse(await npm(['pack', '--json', '--pack-destination', work], repo));
  packed = pack.files;
  await mkdir(path.join(project, 'own-app'), { recursive: true });
  const packageJson = { name: 'consumer', private: true, type: 'module' };
  await writeFile(path.join(project, 'package.json'), JSON.stringify(packageJson));
  const nodeTypes = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8'))
    .devDependencies['@types/node'];
  await npm(
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      path.join(work, pack.filename),
      `@types/node@${nodeTypes}`,
    ],
    project,
  );
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the build, its declarations, README and LICENSE, and no tests or data', () => {
    const paths = packed.map((file) => file.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/plugin.d.ts',
        'dist/main.js',
      ]),
    );
    const unwanted = paths.filter(
      (file) =>
        !/^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(file) ||
        /\.test\.|(^|\/)(test|fixtures|data|dev|examples)\//.test(file),
    );
    expect(unwanted).toEqual([]);
  });

  it('serves an object from plain JavaScript (ESM) with the plugin', async () => {
    const root = path.join(work, 'store');
    await mkdir(path.join(root, 'files'), { recursive: true });
    await writeFile(path.join(root, 'files', 'object.bin'), OBJECT);
    await copyFile(path.join(fixtures, 'consumer.mjs'), path.join(project, 'consumer.mjs'));
    // Bounded: an app.close() held by a keep-alive connection would take 72 s.
    const { stdout } = await run(process.execPath, ['consumer.mjs', root], {
      cwd: project,
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual({
      status: 206,
      contentRange: `bytes 5-${OBJECT.length - 1}/${OBJECT.length}`,
      sha256: sha256(OBJECT.subarray(5)),
    });
  });

  it('type-checks a TypeScript consumer and the own-app example against its declarations', async () => {
    await copyFile(path.join(fixtures, 'consumer.ts'), path.join(project, 'consumer.ts'));
    for (const file of ['app.ts', 'main.ts']) {
      await copyFile(
        path.join(repo, 'examples', 'own-app', file),
        path.join(project, 'own-app', file),
      );
    }
    const tsconfig = {
      compilerOptions: {
        target: 'ES2023',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        // The strictest a team may compile with: options given as `undefined` must still fit.
        exactOptionalPropertyTypes: true,
        noEmit: true,
        types: ['node'],
      },
      include: ['consumer.ts', 'own-app'],
    };
    await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', project]).then(
      () => 'ok',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(checked).toBe('ok');
  });

  it('starts the service as the streamgate binary with the settings of npm start', async () => {
    const dataDir = path.join(work, 'data');
    await mkdir(path.join(dataDir, 'images', 'test', '1'), { recursive: true });
    await writeFile(path.join(dataDir, 'images', 'test', '1', 'image.jpg'), OBJECT);
    const bin = path.join(project, 'node_modules', '.bin', 'streamgate');
    const service = spawn(bin, [], {
      cwd: project,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = await listeningUrl(service);
      const response = await fetch(`${url}/tasks/1/image`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/jpeg');
      expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(OBJECT));
      const exit = new Promise((resolve) => service.once('exit', resolve));
      service.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      service.kill('SIGKILL');
    }
  });
});

/** The address the service logs once it listens (pino's `Server listening at …`). */
function listeningUrl(service: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let log = '';
    service.once('exit', (code) => reject(new Error(`streamgate exited with ${code}: ${log}`)));
    service.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (match?.[1]) resolve(match[1]);
    });
  });
}
