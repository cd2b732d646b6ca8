/**
 * The baseline the benchmark compares against: the original service's image route ported
 * naively, buffering the whole object before answering (what `await Body.transformToByteArray()`
 * does). Configured like the gateway: AWS_ENDPOINT_URL, S3_IMAGE_BUCKET, PORT.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Fastify from 'fastify';

const client = new S3Client({
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
const bucket = process.env.S3_IMAGE_BUCKET ?? 'images';
const app = Fastify();

app.get<{ Params: { id: string } }>('/tasks/:id/image', async (request, reply) => {
  const object = await client.send(
    new GetObjectCommand({ Bucket: bucket, Key: `test/${request.params.id}/image.jpg` }),
  );
  const body = Buffer.from(
    await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  return reply.header('content-type', 'image/jpeg').header('etag', object.ETag).send(body);
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${(app.server.address() as { port: number }).port}\n`);
