import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export const S3_ACCESS_KEY_ID = 'S3RVER';
export const S3_SECRET_ACCESS_KEY = 'S3RVER';

/** What s3rver 3 and @20minutes/s3rver (which checks signatures) are both started with. */
export interface EmulatorOptions {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}

/** An S3 emulator on 127.0.0.1 in a temporary directory, with an SDK client for it. */
export interface EmulatedS3<Emulator> {
  endpoint: string;
  emulator: Emulator;
  client: S3Client;
  put(bucket: string, key: string, body: Buffer | Readable, length?: number): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Runs the emulator `create` makes, over a fresh temporary directory holding `buckets`, and an SDK
 * client signing with the emulators' key pair. `stop()` stops both and removes the directory.
 */
export async function runEmulator<
  Emulator extends { run(): Promise<AddressInfo>; close(): Promise<void> },
>(
  buckets: string[],
  port: number,
  create: (options: EmulatorOptions) => Emulator,
): Promise<EmulatedS3<Emulator>> {
  const directory = await mkdtemp(path.join(tmpdir(), 'streamgate-s3-'));
  const emulator = create({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const address = await emulator.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY },
    // The emulators store aws-chunked bodies corrupted.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    emulator,
    client,
    async put(bucket, key, body, length) {
      const output = await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: length ?? (Buffer.isBuffer(body) ? body.length : undefined),
          ContentType: 'image/jpeg',
        }),
      );
      return output.ETag as string;
    },
    async stop() {
      client.destroy();
      await emulator.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** An in-process S3-compatible server (s3rver) on 127.0.0.1, on an ephemeral port. */
export interface LocalS3 extends EmulatedS3<S3rver> {
  /** The HTTP server behind the endpoint, for tests that watch its requests. */
  httpServer: Server;
}

export async function startLocalS3(buckets: string[], port = 0): Promise<LocalS3> {
  const s3 = await runEmulator(buckets, port, (options) => new S3rver(options));
  return { ...s3, httpServer: s3.emulator.httpServer };
}
