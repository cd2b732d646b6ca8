import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credentials } from '../../src/sources/s3/sigv4.js';

/** What smithy hands a hash: its `SourceData`. */
type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Buffer {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 in the shape @smithy/signature-v4 expects (an HMAC when given a secret). */
class NodeSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.#hash.digest();
  }
}

/** The AWS SDK's own S3 signer: path taken as given, body unsigned. The reference to match. */
export function smithyS3Signer(region: string, credentials: Credentials): SignatureV4 {
  return new SignatureV4({
    service: 's3',
    region,
    credentials,
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
}

/** A GET or HEAD the way smithy signs it; returns the headers it would send. */
export async function smithySign(
  signer: SignatureV4,
  request: { method: string; host: string; path: string; headers: Record<string, string> },
  now: Date,
): Promise<Record<string, string>> {
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'https:',
      hostname: request.host,
      path: request.path,
      query: {},
      headers: { ...request.headers, host: request.host },
    },
    { signingDate: now },
  );
  return signed.headers;
}
