import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export const S3_ACCESS_KEY_ID = 'S3RVER';
export const S3_SECRET_ACCESS_KEY = 'S3RVER';

/** An in-process S3-compatible server (s3rver) on 127.0.0.1, on an ephemeral port. */
export interface LocalS3 {
  endpoint: string;
  /** The HTTP server behind the endpoint, for tests that watch its requests. */
  httpServer: Server;
  client: S3Client;
  put(bucket: string, key: string, body: Buffer | Readable, length?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startLocalS3(buckets: string[], port = 0): Promise<LocalS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 'streamgate-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY_ID, secretAccessKey: S3_SECRET_ACCESS_KEY },
    // s3rver stores aws-chunked bodies corrupted.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    httpServer: server.httpServer,
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
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
