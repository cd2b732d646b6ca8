import { stat } from 'node:fs/promises';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { patternBytes, patternStream } from '../../dev/pattern.js';
import {
  type EmulatedS3,
  S3_ACCESS_KEY_ID,
  S3_SECRET_ACCESS_KEY,
  startLocalS3,
} from '../../dev/s3-server.js';
import { s3Env, startGateway } from '../helpers/gateway.js';
import { tempStore } from '../helpers/store.js';
import type { CaseContext, StoredObject } from './cases.js';

/** A gateway in front of a storage backend that holds the suite's objects. */
export interface Backend {
  url: string;
  ctx: CaseContext;
  close(): Promise<void>;
}

/** 1 MiB and then some, so ranges cross the pattern's MiB boundary. */
export const LARGE_SIZE = 1024 * 1024 + 123;
const LARGE_ID = 7001;
const EMPTY_ID = 7002;
/** Never written by any backend. */
const MISSING_ID = 404404;
const CACHE_CONTROL = 'public, max-age=60';
const BUCKET = 'images';

function imageKey(id: number): string {
  return `test/${id}/image.jpg`;
}

/** The embedded store (STORAGE_BACKEND=fs) in a fresh temporary DATA_DIR. */
export async function startLocalBackend(): Promise<Backend> {
  const store = await tempStore('conformance');
  const write = async (id: number, size: number): Promise<StoredObject> => {
    const file = await store.put(BUCKET, imageKey(id), patternStream(0, size));
    const stats = await stat(file);
    // The local store's ETag, as src/sources/local.ts derives it (nginx's size-mtime form).
    const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
    return { id, size, etag, lastModified: stats.mtime };
  };
  const large = await write(LARGE_ID, LARGE_SIZE);
  const empty = await write(EMPTY_ID, 0);
  const gateway = await startGateway({
    ...store.env,
    S3_IMAGE_BUCKET: BUCKET,
    CACHE_CONTROL,
  });
  return {
    url: gateway.url,
    ctx: { large, empty, missingId: MISSING_ID, cacheControl: CACHE_CONTROL },
    async close() {
      await gateway.close();
      await store.remove();
    },
  };
}

/** Where an S3-compatible storage listens and how to sign for it. */
export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Must exist already. */
  bucket: string;
}

/**
 * Uploads the suite's objects with the SDK and starts a gateway with STORAGE_BACKEND=s3 in front
 * of the endpoint. Validators are read back with HeadObject: what the storage itself reports.
 */
export async function startS3Backend(target: S3Endpoint): Promise<Backend> {
  const client = new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    // aws-chunked uploads are mishandled by emulators and older S3 engines.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const upload = async (id: number, size: number): Promise<StoredObject> => {
    const Key = imageKey(id);
    const put = await client.send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key,
        Body: patternBytes(0, size),
        ContentType: 'image/jpeg',
      }),
    );
    const head = await client.send(new HeadObjectCommand({ Bucket: target.bucket, Key }));
    if (head.ETag === undefined || head.ETag !== put.ETag || head.LastModified === undefined) {
      throw new Error(`storage reports inconsistent validators for ${Key}`);
    }
    return { id, size, etag: head.ETag, lastModified: head.LastModified };
  };
  try {
    const large = await upload(LARGE_ID, LARGE_SIZE);
    const empty = await upload(EMPTY_ID, 0);
    const gateway = await startGateway({
      ...s3Env(target, target),
      AWS_REGION: target.region,
      S3_IMAGE_BUCKET: target.bucket,
      CACHE_CONTROL,
    });
    return {
      url: gateway.url,
      ctx: { large, empty, missingId: MISSING_ID, cacheControl: CACHE_CONTROL },
      close: () => gateway.close(),
    };
  } finally {
    client.destroy();
  }
}

/** startS3Backend in front of an emulator started for it: closing the backend stops it too. */
export async function startEmulatorBackend(s3: EmulatedS3<unknown>): Promise<Backend> {
  try {
    const backend = await startS3Backend({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      accessKeyId: S3_ACCESS_KEY_ID,
      secretAccessKey: S3_SECRET_ACCESS_KEY,
      bucket: BUCKET,
    });
    return {
      ...backend,
      async close() {
        await backend.close();
        await s3.stop();
      },
    };
  } catch (error) {
    await s3.stop();
    throw error;
  }
}

/** The in-process S3 emulator (dev/s3-server.ts), which ignores If-Match and mis-answers `-n`. */
export async function startS3rverBackend(): Promise<Backend> {
  return startEmulatorBackend(await startLocalS3([BUCKET]));
}
