import { type LocalS3, startLocalS3 } from '../../dev/s3-server.js';
import { type LocalUpstream, startLocalUpstream } from '../../dev/upstream-server.js';
import { s3Env } from './gateway.js';

/** s3rver with the bucket `images` and the local upstream: what the service's two routes read. */
export interface Origins {
  s3: LocalS3;
  upstream: LocalUpstream;
  /** The gateway settings for both: the image route over S3, the bytes route over the upstream. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startOrigins(): Promise<Origins> {
  const [s3, upstream] = await Promise.all([startLocalS3(['images']), startLocalUpstream()]);
  return {
    s3,
    upstream,
    env: { ...s3Env(s3), UPSTREAM_BASE_URL: upstream.baseUrl },
    async stop() {
      await Promise.all([s3.stop(), upstream.stop()]);
    },
  };
}
