import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceError } from '../errors.js';
import { describeObject, send } from './http-response.js';
import { Pool } from './undici.js';

const servers: http.Server[] = [];
const pools: Dispatcher[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.destroy()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A server that answers the headers and the first KiB of a large body, then stalls. */
async function stallingServer(): Promise<string> {
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-length': '1000000' });
    response.write(Buffer.alloc(1024));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('send', () => {
  it('ends at its abort a request queued behind a pool whose one socket is busy', async () => {
    const pool = new Pool(await stallingServer(), {
      connections: 1,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    pools.push(pool);
    const holding = await send(pool, { path: '/first', method: 'GET' });
    const attempt = new AbortController();
    setTimeout(() => attempt.abort(), 50);
    const startedAt = performance.now();
    const error = await send(pool, {
      path: '/second',
      method: 'GET',
      signal: attempt.signal,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).failure).toBe('aborted');
    // Answered by the abort, while the first body still holds the only socket.
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect(holding.body.destroyed).toBe(false);
    holding.body.on('error', () => {});
    holding.body.destroy();
  });
});

describe('describeObject', () => {
  it("keeps the stored object's Content-Encoding", () => {
    const info = describeObject({ 'content-length': '46', 'content-encoding': 'gzip' });
    expect(info.contentEncoding).toBe('gzip');
    expect(info.size).toBe(46);
  });
});
