import { connect } from 'node:net';

/** The first response the server wrote, as bytes on the wire; nothing normalised. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Everything the server wrote, for messages. */
  text: string;
}

/**
 * Writes `request` byte for byte on a new TCP connection and reads until the server closes it
 * (send `connection: close`) or `timeoutMs` passes. Resolves undefined when the server closed
 * the connection without writing anything.
 */
export function rawRequest(
  url: string,
  request: string | Buffer,
  timeoutMs = 5_000,
): Promise<RawResponse | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => {
      socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of answer within ${timeoutMs} ms to ${JSON.stringify(request)}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after the answer (the server destroying a socket it refused) is still an answer.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const wire = Buffer.concat(chunks);
      resolve(wire.length === 0 ? undefined : parse(wire));
    });
  });
}

function parse(wire: Buffer): RawResponse {
  const text = wire.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const payload = end === -1 ? Buffer.alloc(0) : wire.subarray(end + 4);
  const chunked = headers['transfer-encoding']?.toLowerCase() === 'chunked';
  const length = Number(headers['content-length'] ?? Number.NaN);
  const body = chunked
    ? dechunk(payload)
    : Number.isSafeInteger(length)
      ? payload.subarray(0, length)
      : payload;
  return { status, headers, body, text };
}

/** The data of a chunked body; stops at the last chunk or at anything malformed. */
function dechunk(payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = payload.indexOf('\r\n', at);
    const size = lineEnd === -1 ? 0 : Number.parseInt(payload.toString('latin1', at, lineEnd), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(payload.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
