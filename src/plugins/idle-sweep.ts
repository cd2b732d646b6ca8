import type { FastifyInstance } from 'fastify';

/**
 * Closes keep-alive connections as they fall idle while the app closes. Node closes idle
 * connections once, when the server begins to close; a download that ends after that (a body
 * ends only once its source has closed, a little after its last byte) would leave its
 * connection open until the keep-alive timeout (72 s in Fastify), holding `app.close()`.
 */
export function sweepIdleConnectionsWhileClosing(app: FastifyInstance, everyMs = 100): void {
  let sweep: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    sweep = setInterval(() => app.server.closeIdleConnections(), everyMs).unref();
    done();
  });
  // onClose hooks run once the server has closed.
  app.addHook('onClose', async () => clearInterval(sweep));
}
