// A plain-JavaScript consumer of the packed package: serves one object of a directory store
// with the plugin and prints what a client received. Usage: node consumer.mjs <store root>
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import streamgate, { LocalSource } from 'streamgate';

const [root] = process.argv.slice(2);
const app = Fastify();
await app.register(streamgate, { sources: { files: new LocalSource(root, 'files') } });
app.get('/file', (_request, reply) => reply.sendObject('files', 'object.bin'));
await app.listen({ host: '127.0.0.1', port: 0 });
try {
  const response = await fetch(`http://127.0.0.1:${app.server.address().port}/file`, {
    headers: { range: 'bytes=5-' },
  });
  const body = Buffer.from(await response.arrayBuffer());
  const sha256 = createHash('sha256').update(body).digest('hex');
  const contentRange = response.headers.get('content-range');
  process.stdout.write(JSON.stringify({ status: response.status, contentRange, sha256 }));
} finally {
  await app.close();
}
