import type { Server } from 'node:http';

/** Counts the responses a server has begun and not yet closed (finished or torn down). */
export function watchInFlight(server: Server): {
  count(): number;
  settled(ms: number): Promise<void>;
} {
  let inFlight = 0;
  server.on('request', (_request, response) => {
    inFlight++;
    response.once('close', () => {
      inFlight--;
    });
  });
  return {
    count: () => inFlight,
    /** Resolves once nothing is in flight; rejects after `ms`. */
    async settled(ms) {
      const deadline = Date.now() + ms;
      while (inFlight > 0) {
        if (Date.now() > deadline) throw new Error(`${inFlight} source request(s) still open`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}
