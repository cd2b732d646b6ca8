/**
 * The floor for any Node gateway: each TCP connection on PORT piped to a new connection to
 * ORIGIN_URL's host and back, with no HTTP parsing at all. WORKERS processes (node:cluster).
 */
import { connect, createServer } from 'node:net';
import { runWorkers } from './cluster.js';

const origin = new URL(process.env.ORIGIN_URL ?? 'http://127.0.0.1:9000');

runWorkers(() => {
  createServer((client) => {
    const upstream = connect(Number(origin.port), origin.hostname);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }).listen(Number(process.env.PORT ?? 0), '127.0.0.1');
});
