/**
 * One-command local stack for newcomers: an in-process S3-compatible server (s3rver) with sample
 * objects, a local upstream with /stream-bytes/{n}, and the gateway wired to both.
 *   npm run demo            (gateway on PORT, default 8000)
 */
import { readFile } from 'node:fs/promises';
import { patternStream } from '../dev/pattern.js';
import { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, startLocalS3 } from '../dev/s3-server.js';
import { startLocalUpstream } from '../dev/upstream-server.js';
import { buildApp } from '../src/app.js';
import { loadSettings } from '../src/settings.js';

const TEN_MIB = 10 * 1024 * 1024;

const [s3, upstream] = await Promise.all([startLocalS3(['images']), startLocalUpstream()]);
const sample = await readFile(new URL('../data/images/test/1/image.jpg', import.meta.url));
await s3.put('images', 'test/1/image.jpg', sample);
await s3.put('images', 'test/2/image.jpg', patternStream(0, TEN_MIB), TEN_MIB);

const settings = loadSettings({
  ...process.env,
  STORAGE_BACKEND: 's3',
  AWS_ENDPOINT_URL: s3.endpoint,
  AWS_ACCESS_KEY_ID: S3_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY,
  UPSTREAM_BASE_URL: upstream.baseUrl,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});
const app = buildApp(settings);
await app.listen({ host: settings.host, port: settings.port });
const base = `http://${settings.host}:${settings.port}`;

process.stdout.write(`streamgate demo
  S3 (s3rver)   ${s3.endpoint}  bucket "images": test/1/image.jpg (sample), test/2/image.jpg (10 MiB)
  upstream      ${upstream.baseUrl}/stream-bytes/{n}
  gateway       ${base}

Try:
  curl -o image.jpg ${base}/tasks/1/image
  curl -s ${base}/tasks/2/image | sha256sum
  curl -I ${base}/tasks/2/image
  curl -s -D - -o /dev/null -H 'Range: bytes=0-99' ${base}/tasks/2/image
  curl -s -D - -o /dev/null -H 'If-None-Match: <etag from above>' ${base}/tasks/2/image
  curl -s ${base}/tasks/1/bytes/1048576 | wc -c
  curl -s ${base}/tasks/9/image            # 404 {"detail":"Image not found"}
  open ${base}/docs                        # OpenAPI
Ctrl-C stops everything.
`);

async function stop(): Promise<void> {
  await app.close();
  await Promise.all([s3.stop(), upstream.stop()]);
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
