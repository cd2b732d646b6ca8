import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as undici from 'undici';
import dispatcherRequest from 'undici/lib/api/api-request.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, Pool, request } from './undici.js';

describe("undici's parts, imported without its index", () => {
  it('are the classes and the request function that the index exports', () => {
    expect(Agent).toBe(undici.Agent);
    expect(Pool).toBe(undici.Pool);
    expect(dispatcherRequest).toBe(undici.Dispatcher.prototype.request);
  });

  describe('request', () => {
    const server = createServer((req, res) => res.end(`${req.method} ${req.url}`));
    let origin = '';
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('sends through the dispatcher it is given', async () => {
      const pool = new Pool(origin);
      try {
        const response = await request(pool, { origin, path: '/a?b=1', method: 'GET' });
        expect(response.statusCode).toBe(200);
        expect(await response.body.text()).toBe('GET /a?b=1');
      } finally {
        await pool.close();
      }
    });
  });
});
