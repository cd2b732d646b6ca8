/**
 * The s3rver origin of the bench, in a process of its own so that it does not share an event
 * loop with the bench's clients. Creates bucket BENCH_BUCKET on PORT and puts one object of the
 * test pattern per size in BENCH_SIZES (comma-separated bytes) at BENCH_KEY_TEMPLATE, in that
 * order; stops (and deletes its data) on SIGTERM.
 */
import { patternStream } from '../dev/pattern.js';
import { startLocalS3 } from '../dev/s3-server.js';

const bucket = process.env.BENCH_BUCKET ?? 'bench';
const template = process.env.BENCH_KEY_TEMPLATE ?? 'objects/{task_id}.bin';
const sizes = (process.env.BENCH_SIZES ?? '').split(',').filter(Boolean).map(Number);

const s3 = await startLocalS3([bucket], Number(process.env.PORT ?? 0));
process.once('SIGTERM', () => {
  s3.stop().then(() => process.exit(0));
});
for (const size of sizes) {
  const key = template.replace('{task_id}', String(size));
  await s3.put(bucket, key, patternStream(0, size, 1024 * 1024), size);
}
