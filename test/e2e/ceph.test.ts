import { describe, expect, it } from 'vitest';
import { type S3Endpoint, startS3Backend } from '../conformance/backends.js';
import { conformanceSuite } from '../conformance/suite.js';
import { s3Env, startGateway } from '../helpers/gateway.js';
import { download } from '../helpers/http-client.js';

/**
 * The conformance table against Ceph's RADOS Gateway, a production S3 engine that checks
 * signatures. `npm run test:ceph` (scripts/test-ceph.sh) starts RGW and sets these variables;
 * without them this file fails rather than skips, so a CI run cannot pass without Ceph.
 */
const VARIABLES = [
  'CEPH_RGW_ENDPOINT',
  'CEPH_RGW_REGION',
  'CEPH_RGW_ACCESS_KEY_ID',
  'CEPH_RGW_SECRET_ACCESS_KEY',
  'CEPH_RGW_BUCKET',
] as const;

const missing = VARIABLES.filter((name) => !process.env[name]);

describe('Ceph RGW environment', () => {
  it('names the RGW endpoint, its keys and the bucket', () => {
    expect(missing, 'run through `npm run test:ceph`').toEqual([]);
  });
});

function endpoint(): S3Endpoint {
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}`);
  const env = process.env as Record<(typeof VARIABLES)[number], string>;
  return {
    endpoint: env.CEPH_RGW_ENDPOINT,
    region: env.CEPH_RGW_REGION,
    accessKeyId: env.CEPH_RGW_ACCESS_KEY_ID,
    secretAccessKey: env.CEPH_RGW_SECRET_ACCESS_KEY,
    bucket: env.CEPH_RGW_BUCKET,
  };
}

conformanceSuite('Ceph RGW', () => startS3Backend(endpoint()));

describe('Ceph RGW with a wrong secret', () => {
  it('answers 502 with the catalogue detail, never 404 or a hang, and never logs the secret', async () => {
    const { endpoint: url, region, accessKeyId, bucket } = endpoint();
    const wrongSecret = 'wrong-secret-0123456789-abcdefghij';
    const lines: string[] = [];
    const gateway = await startGateway(
      {
        ...s3Env({ endpoint: url }, { accessKeyId, secretAccessKey: wrongSecret }),
        AWS_REGION: region,
        S3_IMAGE_BUCKET: bucket,
        LOG_LEVEL: 'trace',
        RETRY_BACKOFF_MS: '1',
      },
      {},
      { logStream: { write: (line: string) => void lines.push(line) } },
    );
    try {
      for (const method of ['GET', 'HEAD']) {
        const answer = await download(`${gateway.url}/tasks/1/image`, {
          method,
          timeoutMs: 10_000,
        });
        expect(answer.status, method).toBe(502);
        if (method === 'GET') expect(answer.json).toEqual({ detail: 'Failed to get the image' });
      }
    } finally {
      await gateway.close();
    }
    const log = lines.join('');
    expect(log).toContain('SignatureDoesNotMatch');
    expect(log).not.toContain(wrongSecret);
  });
});
