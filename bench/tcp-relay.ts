/**
 * The floor for any Node gateway: each TCP connection on PORT piped to a new connection to
 * ORIGIN_URL's host and back, with no HTTP parsing at all. WORKERS processes (node:cluster).
 */
import { runWorkers } from './cluster.js';
import { listenRelaying } from './relay.js';

runWorkers(() => listenRelaying((client, upstream) => client.pipe(upstream).pipe(client)));
