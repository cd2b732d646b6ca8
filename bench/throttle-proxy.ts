/**
 * A TCP proxy that caps every connection's downstream (origin to client) at RATE_BYTES_PER_S,
 * as one connection to a far object store is capped: each connection on PORT is piped to a new
 * connection to ORIGIN_URL's host; requests pass unthrottled.
 */
import type { Socket } from 'node:net';
import { listenRelaying } from './relay.js';

const rate = Number(process.env.RATE_BYTES_PER_S ?? 32 * 1024 * 1024);

/**
 * The credit a connection may build up while idle: a keep-alive connection that waited for
 * seconds must not then burst at full speed (nginx's upstream connections did, before this cap).
 */
const BURST_MS = 50;

/** Forwards `from` to `to` no faster than `rate` bytes per second, with at most BURST_MS of credit. */
function throttle(from: Socket, to: Socket): void {
  let started = performance.now();
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  let draining = false;
  const resume = () => {
    if (timer === undefined && !draining) from.resume();
  };
  from.on('data', (chunk: Buffer) => {
    const now = performance.now();
    if (started + (sent / rate) * 1000 < now - BURST_MS) {
      started = now - BURST_MS;
      sent = 0;
    }
    sent += chunk.length;
    if (!to.write(chunk)) {
      draining = true;
      from.pause();
      to.once('drain', () => {
        draining = false;
        resume();
      });
    }
    const aheadMs = started + (sent / rate) * 1000 - performance.now();
    if (aheadMs > 0 && timer === undefined) {
      from.pause();
      timer = setTimeout(() => {
        timer = undefined;
        resume();
      }, aheadMs);
    }
  });
  from.once('end', () => to.end());
  to.once('close', () => clearTimeout(timer));
}

listenRelaying((client, upstream) => {
  client.pipe(upstream);
  throttle(upstream, client);
});
