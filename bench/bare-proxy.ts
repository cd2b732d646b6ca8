/**
 * The reference for small-object speed: a bare `node:http` server that signs one S3 GET with
 * SigV4 (src/sources/s3/sigv4.ts) and relays the answer from an undici Pool, with no framework,
 * no Range or conditional logic, no retries and no timeouts. Env: S3_ENDPOINT, S3_BUCKET, S3_KEY,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; prints `listening <port>`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';
import { encodeKeyPath, SigV4Signer, UNSIGNED_PAYLOAD } from '../src/sources/s3/sigv4.js';

const env = (name: string) => process.env[name] ?? '';
const endpoint = new URL(env('S3_ENDPOINT'));
const pool = new Pool(endpoint.origin, { connections: 50, headersTimeout: 0, bodyTimeout: 0 });
const signer = new SigV4Signer('us-east-1', 's3');
const credentials = {
  accessKeyId: env('AWS_ACCESS_KEY_ID'),
  secretAccessKey: env('AWS_SECRET_ACCESS_KEY'),
};
const path = `/${env('S3_BUCKET')}/${encodeKeyPath(env('S3_KEY'))}`;

const server = http.createServer(async (request, response) => {
  try {
    const headers = { host: endpoint.host, 'x-amz-content-sha256': UNSIGNED_PAYLOAD };
    const signature = signer.sign(
      { method: 'GET', path, headers, payloadHash: UNSIGNED_PAYLOAD },
      credentials,
      new Date(),
    );
    const answer = await pool.request({
      path,
      method: 'GET',
      headers: { ...headers, ...signature },
    });
    response.writeHead(answer.statusCode, {
      'content-type': 'image/jpeg',
      'content-length': String(answer.headers['content-length']),
      etag: String(answer.headers.etag),
    });
    pipeline(answer.body, response, () => {});
  } catch {
    response.destroy();
  }
  request.resume();
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
