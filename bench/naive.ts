/**
 * The baseline the benchmark compares against: the original service's image route ported
 * naively, buffering the whole object before answering (what `await Body.transformToByteArray()`
 * does). Configured like the gateway: AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, S3_IMAGE_BUCKET, IMAGE_KEY_TEMPLATE, PORT.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Fastify from 'fastify';

// Region and credentials come from the environment, through the SDK's default chain.
const client = new S3Client({ endpoint: process.env.AWS_ENDPOINT_URL, forcePathStyle: true });
const bucket = process.env.S3_IMAGE_BUCKET ?? 'images';
const keyTemplate = process.env.IMAGE_KEY_TEMPLATE ?? 'test/{task_id}/image.jpg';
const app = Fastify();

app.get<{ Params: { id: string } }>('/tasks/:id/image', async (request, reply) => {
  const object = await client.send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: keyTemplate.replace('{task_id}', request.params.id),
    }),
  );
  const body = Buffer.from(
    await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  return reply.header('content-type', 'image/jpeg').header('etag', object.ETag).send(body);
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${(app.server.address() as { port: number }).port}\n`);
