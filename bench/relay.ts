/**
 * What the TCP relay and the throttling proxy share: a server on PORT (127.0.0.1) that opens a
 * new connection to ORIGIN_URL's host for each connection it accepts, and closes both when
 * either closes or fails.
 */
import { connect, createServer, type Socket } from 'node:net';

/** Listens, handing each client and its new upstream connection to `relay` to wire together. */
export function listenRelaying(relay: (client: Socket, upstream: Socket) => void): void {
  const origin = new URL(process.env.ORIGIN_URL ?? 'http://127.0.0.1:9000');
  createServer((client) => {
    const upstream = connect(Number(origin.port), origin.hostname);
    relay(client, upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }).listen(Number(process.env.PORT ?? 0), '127.0.0.1');
}
