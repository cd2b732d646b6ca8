import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from '@20minutes/s3rver';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** The key pair @20minutes/s3rver accepts; any other secret fails its signature check. */
export const SIGNING_ACCESS_KEY_ID = 'S3RVER';
export const SIGNING_SECRET_ACCESS_KEY = 'S3RVER';

export interface SigningS3 {
  endpoint: string;
  put(bucket: string, key: string, body: Buffer): Promise<string>;
  stop(): Promise<void>;
}

/**
 * @20minutes/s3rver on 127.0.0.1, an ephemeral port: unlike s3rver 3 it checks every SigV4
 * signature, so a request signed wrongly (path, headers, secret) is refused with 403.
 */
export async function startSigningS3(buckets: string[]): Promise<SigningS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 'streamgate-s3v4-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: SIGNING_ACCESS_KEY_ID, secretAccessKey: SIGNING_SECRET_ACCESS_KEY },
    // s3rver mishandles aws-chunked uploads.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    async put(bucket, key, body) {
      const output = await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'image/jpeg' }),
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
