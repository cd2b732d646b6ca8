import { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Closes the connections that carry no request in progress while the app closes, again and
 * again until it has closed. Node closes idle connections once, when the server begins to
 * close; a download that ends after that (a body ends only once its source has closed, a little
 * after its last byte) would leave its keep-alive connection open until the keep-alive timeout
 * (72 s in Fastify), holding `app.close()`. Node does not count as idle a connection that has
 * sent nothing yet (load balancers and browsers open them ahead) or only part of a request's
 * head; those would hold it to the grace period's end. A request that started on one while
 * draining would only be refused with a 503.
 */
export function sweepIdleConnectionsWhileClosing(app: FastifyInstance, everyMs = 100): void {
  const server = app.server;
  // Over TLS `connection` gives the raw socket, not the one a response is bound to: there only
  // Node's idle connections are closed.
  const sockets = server instanceof Server ? openSockets(server) : undefined;
  const sweepOnce =
    sockets === undefined
      ? () => server.closeIdleConnections()
      : () => closeSocketsWithoutResponse(sockets);
  let sweep: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    sweep = setInterval(sweepOnce, everyMs).unref();
    done();
  });
  // onClose hooks run once the server has closed.
  app.addHook('onClose', async () => clearInterval(sweep));
}

/** The server's connections, as a set kept up to date. */
function openSockets(server: Server): ReadonlySet<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

function closeSocketsWithoutResponse(sockets: ReadonlySet<Socket>): void {
  for (const socket of sockets) if (!carriesResponse(socket)) socket.destroy();
}

/** Node binds a response to its socket (`_httpMessage`) from its request's head until sent. */
function carriesResponse(socket: Socket): boolean {
  return '_httpMessage' in socket && Boolean(socket._httpMessage);
}
