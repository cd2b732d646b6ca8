import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { patternStream } from './pattern.js';

/**
 * A local stand-in for httpbin on 127.0.0.1:
 * - `/stream-bytes/{n}`: n bytes of the test pattern, chunked, no length (as httpbin sends them);
 * - `/range/{n}`: the same bytes with content-length, a strong ETag, and Range / If-Match support;
 * - `/status/{code}`: an empty answer with that status.
 */
export interface LocalUpstream {
  baseUrl: string;
  server: Server;
  stop(): Promise<void>;
}

const MAX_BYTES = 16 * 1024 ** 3;

function streamBytes(req: IncomingMessage, res: ServerResponse, size: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  if (req.method === 'HEAD') return void res.end();
  pipeline(patternStream(0, size), res, () => {});
}

function rangeBytes(req: IncomingMessage, res: ServerResponse, size: number): void {
  const etag = `"range-${size}"`;
  const common = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', etag };
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.split(/\s*,\s*/).includes(etag)) {
    return void res.writeHead(412, common).end();
  }
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (range) {
    const [, from = '', to = ''] = range;
    start = from === '' ? Math.max(0, size - Number(to)) : Number(from);
    end = from === '' || to === '' ? size - 1 : Math.min(Number(to), size - 1);
    if (start > end) {
      return void res.writeHead(416, { ...common, 'content-range': `bytes */${size}` }).end();
    }
    status = 206;
  }
  res.writeHead(status, {
    ...common,
    'content-length': String(end - start + 1),
    ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD') return void res.end();
  pipeline(patternStream(start, end + 1), res, () => {});
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const match = /^\/(stream-bytes|range|status)\/(\d+)$/.exec(req.url?.split('?')[0] ?? '');
  const value = Number(match?.[2]);
  if (!match || value > MAX_BYTES) return void res.writeHead(404).end();
  if (match[1] === 'status') return void res.writeHead(value).end();
  if (match[1] === 'range') rangeBytes(req, res, value);
  else streamBytes(req, res, value);
}

export async function startLocalUpstream(port = 0): Promise<LocalUpstream> {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${actual}`,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
