import { STATUS_CODES } from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** A request head the proxy saw, in arrival order (`index` counts from 1 over all connections). */
export interface ProxiedRequest {
  index: number;
  connection: number;
  method: string;
  /** The request target without its query. */
  path: string;
  headers: Record<string, string>;
}

/**
 * What to do to one request. `afterBytes` counts response bytes from the start of that
 * request's response; 0 means before any byte (the request is then not forwarded for cut/reset).
 */
export type Fault =
  | { type: 'pass' }
  /** Forward `afterBytes` bytes, then close the connection cleanly (FIN). */
  | { type: 'cut'; afterBytes: number }
  /** Forward `afterBytes` bytes, then reset the connection (RST). */
  | { type: 'reset'; afterBytes: number }
  /** Forward `afterBytes` bytes, then forward nothing for `ms` (forever when omitted). */
  | { type: 'stall'; afterBytes: number; ms?: number }
  /** Answer in the proxy's name with this status and S3 error code; the source never sees it. */
  | { type: 'status'; status: number; code: string };

export type FaultRule = (request: ProxiedRequest) => Fault | undefined;

/** Applies `faults` to successive requests that `matches` accepts, then passes the rest. */
export function sequence(
  faults: Fault[],
  matches: (request: ProxiedRequest) => boolean = (request) => request.method === 'GET',
): FaultRule {
  let next = 0;
  return (request) => (matches(request) ? faults[next++] : undefined);
}

function cannedAnswer(method: string, status: number, code: string): Buffer {
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<Error><Code>${code}</Code><Message>${code} from the fault proxy</Message></Error>`;
  const body = method === 'HEAD' ? '' : xml;
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `content-type: application/xml\r\ncontent-length: ${Buffer.byteLength(xml)}\r\n` +
    'x-amz-request-id: fault-proxy\r\nconnection: keep-alive\r\n\r\n';
  return Buffer.from(head + body);
}

function parseHead(head: string): {
  method: string;
  path: string;
  headers: Record<string, string>;
} {
  const [line = '', ...fields] = head.split('\r\n');
  const [method = '', target = ''] = line.split(' ');
  const path = target.split('?')[0] ?? '';
  const headers: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon > 0)
      headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
  }
  return { method, path, headers };
}

/**
 * A TCP proxy on 127.0.0.1 in front of a real HTTP server, injecting faults chosen at runtime
 * per request (`rule`) or per connection (`onConnection`). It understands just enough HTTP/1.1
 * to find request heads: requests must carry no body (GET/HEAD) and not be pipelined, which is
 * how the S3 SDK and undici send them.
 */
export class FaultProxy {
  rule: FaultRule = () => undefined;
  /** Return 'reset' to reset the connection with index `n` (from 1) as soon as it is accepted. */
  onConnection: (n: number) => 'reset' | undefined = () => undefined;
  readonly requests: ProxiedRequest[] = [];
  connections = 0;
  /** Gateway-side sockets currently open. */
  openSockets = 0;
  /** Highest `openSockets` seen since the last `resetCounters`. */
  peakSockets = 0;
  /** Responses held by a `stall` fault right now. */
  stalled = 0;
  /** Caps every connection's responses at this many bytes per second; no cap when undefined. */
  bytesPerSecond: number | undefined;
  /** Response bytes written to the gateway since the last `resetCounters`, over all connections. */
  bytesForwarded = 0;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #port = 0;

  private constructor(private readonly target: { host: string; port: number }) {
    this.#server = net.createServer((socket) => this.#accept(socket));
  }

  /** Starts a proxy to `targetUrl` (an http://127.0.0.1:port origin) on an ephemeral port. */
  static async start(targetUrl: string): Promise<FaultProxy> {
    const url = new URL(targetUrl);
    const proxy = new FaultProxy({ host: url.hostname, port: Number(url.port) });
    await proxy.accept();
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** GET requests seen, optionally only those for `path`. */
  gets(path?: string): ProxiedRequest[] {
    return this.requests.filter(
      (r) => r.method === 'GET' && (path === undefined || r.path === path),
    );
  }

  resetCounters(): void {
    this.requests.length = 0;
    this.connections = 0;
    this.bytesForwarded = 0;
    this.peakSockets = this.openSockets;
  }

  /** Stops listening, so that new connections are refused (ECONNREFUSED); open ones go on. */
  refuse(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      // close() waits for open connections; the listening socket is already gone.
      setImmediate(resolve);
    });
  }

  /** Listens (again) on the same port. */
  accept(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Destroys every open connection (for example, idle keep-alive ones). */
  closeConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.closeConnections();
    if (this.#server.listening) await new Promise((resolve) => this.#server.close(resolve));
  }

  #accept(client: net.Socket): void {
    const number = ++this.connections;
    this.#sockets.add(client);
    this.openSockets++;
    this.peakSockets = Math.max(this.peakSockets, this.openSockets);
    client.once('close', () => {
      this.#sockets.delete(client);
      this.openSockets--;
    });
    client.on('error', () => {});
    if (this.onConnection(number) === 'reset') return void client.resetAndDestroy();
    new ProxiedConnection(client, this.target, number, this, this.#timers);
  }

  /** @internal */
  record(connection: number, head: string): ProxiedRequest {
    const request = { index: this.requests.length + 1, connection, ...parseHead(head) };
    this.requests.push(request);
    return request;
  }
}

/** One client connection and its connection to the target. */
class ProxiedConnection {
  readonly #upstream: net.Socket;
  #pendingHead = '';
  #fault: Fault = { type: 'pass' };
  #sent = 0;
  #held: Buffer[] = [];
  #stalled = false;
  #dead = false;
  /** Pacing of the rate cap: when the current response began and the bytes sent since. */
  #paceStart = 0;
  #paced = 0;
  #throttle: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: net.Socket,
    target: { host: string; port: number },
    private readonly number: number,
    private readonly proxy: FaultProxy,
    private readonly timers: Set<NodeJS.Timeout>,
  ) {
    this.#upstream = net.connect(target.port, target.host);
    this.#upstream.on('error', () => this.#dead || client.destroy());
    this.#upstream.on('close', () => this.#dead || client.destroy());
    this.#upstream.on('end', () => this.#dead || client.end());
    this.#upstream.on('data', (chunk: Buffer) => this.#dead || this.#fromUpstream(chunk));
    client.on('close', () => {
      clearTimeout(this.#throttle);
      this.#upstream.destroy();
    });
    client.on('data', (chunk: Buffer) => this.#fromClient(chunk));
  }

  #fromClient(chunk: Buffer): void {
    if (this.#dead) return;
    this.#pendingHead += chunk.toString('latin1');
    for (let end = this.#pendingHead.indexOf('\r\n\r\n'); end >= 0; ) {
      const head = this.#pendingHead.slice(0, end + 4);
      this.#pendingHead = this.#pendingHead.slice(end + 4);
      this.#request(head);
      end = this.#pendingHead.indexOf('\r\n\r\n');
    }
  }

  #request(head: string): void {
    const request = this.proxy.record(this.number, head);
    const fault = this.proxy.rule(request) ?? { type: 'pass' };
    this.#fault = fault;
    this.#sent = 0;
    this.#paceStart = performance.now();
    this.#paced = 0;
    if (fault.type === 'status') {
      return void this.client.write(cannedAnswer(request.method, fault.status, fault.code));
    }
    if ((fault.type === 'cut' || fault.type === 'reset') && fault.afterBytes === 0) {
      this.#kill(fault.type);
    } else {
      this.#upstream.write(head, 'latin1');
    }
  }

  #fromUpstream(chunk: Buffer): void {
    if (this.#stalled) return void this.#held.push(chunk);
    const fault = this.#fault;
    const room =
      fault.type === 'pass' || fault.type === 'status' ? Infinity : fault.afterBytes - this.#sent;
    if (chunk.length < room) {
      this.#forward(chunk);
      return;
    }
    if (room > 0) this.#forward(chunk.subarray(0, room));
    if (fault.type === 'stall') this.#stall(chunk.subarray(room), fault.ms);
    else this.#kill(fault.type as 'cut' | 'reset');
  }

  #forward(chunk: Buffer): void {
    this.#sent += chunk.length;
    this.proxy.bytesForwarded += chunk.length;
    if (!this.client.write(chunk)) {
      this.#upstream.pause();
      this.client.once('drain', () => this.#stalled || this.#throttle || this.#upstream.resume());
    }
    this.#pace(chunk.length);
  }

  /** Holds the upstream back until the bytes sent so far fit the proxy's rate cap. */
  #pace(bytes: number): void {
    const rate = this.proxy.bytesPerSecond;
    if (rate === undefined) return;
    this.#paced += bytes;
    if (this.#throttle !== undefined) return;
    const ahead = this.#paceStart + (this.#paced / rate) * 1000 - performance.now();
    if (ahead <= 0) return;
    this.#upstream.pause();
    this.#throttle = setTimeout(() => {
      this.#throttle = undefined;
      if (!this.#stalled && !this.client.writableNeedDrain) this.#upstream.resume();
    }, ahead);
  }

  #stall(rest: Buffer, ms: number | undefined): void {
    this.#stalled = true;
    this.proxy.stalled++;
    this.client.once('close', () => this.#stalled && this.proxy.stalled--);
    if (rest.length > 0) this.#held.push(rest);
    this.#upstream.pause();
    if (ms === undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.#stalled = false;
      this.proxy.stalled--;
      this.#fault = { type: 'pass' };
      for (const held of this.#held.splice(0)) this.#forward(held);
      this.#upstream.resume();
    }, ms);
    this.timers.add(timer);
    this.client.once('close', () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    });
  }

  /** Ends the client side after what was forwarded so far has been flushed to the kernel. */
  #kill(how: 'cut' | 'reset'): void {
    this.#dead = true;
    this.#upstream.destroy();
    if (how === 'cut') this.client.end();
    else this.client.write(Buffer.alloc(0), () => this.client.resetAndDestroy());
  }
}
