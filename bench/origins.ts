/**
 * The storages the bench reads from, each holding the same objects of the test pattern at
 * /{bucket}/{key}: nginx serving static files (the fastest origin, so that it is not the
 * bottleneck), s3rver (the S3 emulator the tests use) and Ceph RGW when it is installed.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { patternStream } from '../dev/pattern.js';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY } from '../dev/s3-server.js';
import { freePort, startChild, waitForHttp } from './children.js';
import { MIB } from './config.js';
import { originSite, startNginx } from './nginx.js';

export const BUCKET = 'bench';
/** The objects' keys; the task id of the gateway's image route is the object's size in bytes. */
export const KEY_TEMPLATE = 'objects/{task_id}.bin';

export function objectKey(bytes: number): string {
  return KEY_TEMPLATE.replace('{task_id}', String(bytes));
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A running origin with the bench's objects in it. */
export interface Origin {
  name: string;
  /** http://127.0.0.1:port, path-style: /{bucket}/{key}. */
  endpoint: string;
  region: string;
  credentials: Credentials;
  /** Whether it refuses unsigned requests (then clients of non-signing paths presign). */
  checksSignatures: boolean;
  stop(): Promise<void>;
}

const EMULATOR_CREDENTIALS = {
  accessKeyId: S3_ACCESS_KEY_ID,
  secretAccessKey: S3_SECRET_ACCESS_KEY,
};

async function writePatternFile(file: string, bytes: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await pipeline(patternStream(0, bytes, MIB), createWriteStream(file));
}

/** nginx serving files from `directory`/data; `workers` worker processes. */
export async function startNginxOrigin(
  binary: string,
  directory: string,
  workers: number,
  sizes: number[],
): Promise<Origin> {
  const root = path.join(directory, 'data');
  for (const bytes of sizes)
    await writePatternFile(path.join(root, BUCKET, objectKey(bytes)), bytes);
  const nginx = await startNginx(binary, directory, workers, originSite(root));
  return {
    name: 'nginx',
    endpoint: nginx.baseUrl,
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    checksSignatures: false,
    stop: () => nginx.child.stop(),
  };
}

/** s3rver in a child process (bench/s3rver-origin.ts), ready once its last object is stored. */
export async function startS3rverOrigin(sizes: number[]): Promise<Origin> {
  const port = await freePort();
  const child = startChild(process.execPath, ['--import', 'tsx', 'bench/s3rver-origin.ts'], {
    PORT: String(port),
    BENCH_BUCKET: BUCKET,
    BENCH_KEY_TEMPLATE: KEY_TEMPLATE,
    BENCH_SIZES: sizes.join(','),
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const last = objectKey(sizes.at(-1) as number);
  await waitForHttp(`${endpoint}/${BUCKET}/${last}`, child, {
    timeoutMs: 300_000,
    accept: (status) => status === 200,
  });
  return {
    name: 's3rver',
    endpoint,
    region: 'us-east-1',
    credentials: EMULATOR_CREDENTIALS,
    checksSignatures: false,
    stop: () => child.stop(),
  };
}

const run = promisify(execFile);

/**
 * A one-node Ceph cluster with RGW on 127.0.0.1 (scripts/ceph-rgw.sh, state in `directory`);
 * needs Debian's radosgw, ceph-mon, ceph-osd and ceph-common.
 */
export async function startCephOrigin(directory: string, sizes: number[]): Promise<Origin> {
  const script = 'scripts/ceph-rgw.sh';
  const stop = async () => {
    await run('bash', [script, 'stop', directory]);
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const { stdout } = await run('bash', [script, 'start', directory], { timeout: 300_000 });
    const env = Object.fromEntries(
      stdout.split('\n').flatMap((line) => {
        const at = line.indexOf('=');
        return at > 0 ? [[line.slice(0, at), line.slice(at + 1)]] : [];
      }),
    ) as Record<string, string | undefined>;
    const origin: Origin = {
      name: 'ceph-rgw',
      endpoint: env.S3_ENDPOINT ?? '',
      region: env.S3_REGION ?? 'default',
      credentials: {
        accessKeyId: env.S3_ACCESS_KEY_ID ?? '',
        secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? '',
      },
      checksSignatures: true,
      stop,
    };
    await putObjects(origin, sizes);
    return origin;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function putObjects(origin: Origin, sizes: number[]): Promise<void> {
  const client = new S3Client({
    endpoint: origin.endpoint,
    region: origin.region,
    forcePathStyle: true,
    credentials: origin.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET })).catch((error: unknown) => {
      if ((error as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw error;
    });
    for (const bytes of sizes) {
      await client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: objectKey(bytes),
          Body: patternStream(0, bytes, MIB),
          ContentLength: bytes,
        }),
      );
    }
  } finally {
    client.destroy();
  }
}
