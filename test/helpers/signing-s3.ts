import SigningS3rver from '@20minutes/s3rver';
import {
  type EmulatedS3,
  runEmulator,
  S3_ACCESS_KEY_ID,
  S3_SECRET_ACCESS_KEY,
} from '../../dev/s3-server.js';

/** The key pair @20minutes/s3rver accepts, as s3rver 3 does; any other secret fails its check. */
export const SIGNING_ACCESS_KEY_ID = S3_ACCESS_KEY_ID;
export const SIGNING_SECRET_ACCESS_KEY = S3_SECRET_ACCESS_KEY;

export type SigningS3 = EmulatedS3<SigningS3rver>;

/**
 * @20minutes/s3rver on 127.0.0.1, an ephemeral port: unlike s3rver 3 it checks every SigV4
 * signature, so a request signed wrongly (path, headers, secret) is refused with 403.
 */
export function startSigningS3(buckets: string[]): Promise<SigningS3> {
  return runEmulator(
    buckets,
    0,
    (options) => new SigningS3rver({ ...options, vhostBuckets: false }),
  );
}
