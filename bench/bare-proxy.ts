/**
 * The least a Node S3 gateway must do: `node:http`, one undici Pool to ORIGIN_URL, SigV4 with
 * @smithy/signature-v4, the body piped through. GET/HEAD /{bucket}/{key} is relayed as is.
 * Configured by PORT, WORKERS and what bench/signed-origin.ts reads.
 */
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { runWorkers } from './cluster.js';
import { RELAYED, signedOrigin } from './signed-origin.js';

runWorkers(() => {
  const fetchObject = signedOrigin();
  createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    try {
      const answer = await fetchObject(req.method, path, req.headers.range);
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
