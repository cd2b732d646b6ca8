/**
 * The least a Node S3 gateway must do: `node:http`, one undici Pool to ORIGIN_URL, SigV4 with
 * @smithy/signature-v4, the body piped through. GET/HEAD /{bucket}/{key} is relayed as is.
 * Configured by PORT, ORIGIN_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, WORKERS.
 */
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { Pool } from 'undici';
import { runWorkers } from './cluster.js';

const origin = new URL(process.env.ORIGIN_URL ?? 'http://127.0.0.1:9000');
const RELAYED = ['content-length', 'content-range', 'content-type', 'etag', 'last-modified'];

runWorkers(() => {
  const pool = new Pool(origin.origin, { connections: 50 });
  const signer = new SignatureV4({
    service: 's3',
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    },
    sha256: Hash.bind(null, 'sha256'),
  });
  createServer(async (req, res) => {
    const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
    const path = (req.url ?? '/').split('?')[0] as string;
    const headers: Record<string, string> = {
      host: origin.host,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    };
    if (req.headers.range) headers.range = req.headers.range;
    try {
      const request = { method, protocol: 'http:', hostname: origin.hostname, path, headers };
      const signed = await signer.sign({ ...request, port: Number(origin.port) });
      const answer = await pool.request({ method, path, headers: signed.headers });
      for (const name of RELAYED) {
        const value = answer.headers[name];
        if (value !== undefined) res.setHeader(name, value);
      }
      res.writeHead(answer.statusCode);
      pipeline(answer.body, res, () => {});
    } catch {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }
  }).listen(Number(process.env.PORT ?? 0), '127.0.0.1');
});
