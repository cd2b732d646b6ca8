/**
 * What the bare proxies share: one undici Pool to ORIGIN_URL and SigV4 with
 * @smithy/signature-v4 (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), the least a Node
 * S3 gateway does per request.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { type Dispatcher, Pool } from 'undici';

/** The origin's answer headers a proxy passes on. */
export const RELAYED = ['content-length', 'content-range', 'content-type', 'etag', 'last-modified'];

/** GET or HEAD of `path` (`/{bucket}/{key}`) at the origin, signed, with the client's Range. */
export type OriginRequest = (
  method: string | undefined,
  path: string,
  range: string | undefined,
) => Promise<Dispatcher.ResponseData>;

export function signedOrigin(): OriginRequest {
  const origin = new URL(process.env.ORIGIN_URL ?? 'http://127.0.0.1:9000');
  const pool = new Pool(origin.origin, { connections: 50 });
  const signer = new SignatureV4({
    service: 's3',
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    },
    sha256: Hash.bind(null, 'sha256'),
  });
  return async (requestMethod, path, range) => {
    const method = requestMethod === 'HEAD' ? 'HEAD' : 'GET';
    const headers: Record<string, string> = {
      host: origin.host,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    };
    if (range) headers.range = range;
    const request = { method, protocol: 'http:', hostname: origin.hostname, path, headers };
    const signed = await signer.sign({ ...request, port: Number(origin.port) });
    return pool.request({ method, path, headers: signed.headers });
  };
}
