import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SourceError } from '../errors.js';
import type { S3Settings } from '../settings.js';
import { networkFailure } from './network-errors.js';
import {
  type ObjectInfo,
  type ObjectStream,
  parseContentRange,
  type ReadOptions,
  type Source,
} from './source.js';

/** Builds the one S3 client of the process: pooled keep-alive sockets, no SDK-side retries. */
export function createS3Client(settings: S3Settings, connectTimeoutMs: number): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets };
  const credentials =
    settings.accessKeyId !== undefined && settings.secretAccessKey !== undefined
      ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
      : undefined;
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials,
    // The gateway retries and resumes itself (src/stream/), with one policy for every source.
    maxAttempts: 1,
    // Checksums on every chunk cost CPU on the hot path, and emulators mishandle them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: connectTimeoutMs,
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent({ ...agentOptions, rejectUnauthorized: settings.tlsVerify }),
    }),
  });
}

/** S3-compatible storage: one bucket, keys as given. */
export class S3Source implements Source {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async stat(key: string, signal: AbortSignal): Promise<ObjectInfo> {
    const command = new HeadObjectCommand({ Bucket: this.bucket, Key: key });
    try {
      return describe(await this.client.send(command, { abortSignal: signal }));
    } catch (error) {
      throw translate(error);
    }
  }

  async read(key: string, options: ReadOptions): Promise<ObjectStream> {
    const { range, ifMatch, signal } = options;
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Range: range && `bytes=${range.start}-${range.end}`,
      IfMatch: ifMatch,
    });
    let output: GetObjectCommandOutput;
    try {
      output = await this.client.send(command, { abortSignal: signal });
    } catch (error) {
      throw translate(error);
    }
    const body = output.Body as Readable;
    const info = describe(output);
    const reported = parseContentRange(output.ContentRange);
    if (reported) info.size = reported.size;
    return { info, range: reported?.range, body };
  }

  async probe(signal: AbortSignal): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: signal,
      });
    } catch (error) {
      throw translate(error);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function describe(output: HeadObjectCommandOutput | GetObjectCommandOutput): ObjectInfo {
  return {
    size: output.ContentLength,
    etag: output.ETag,
    lastModified: output.LastModified,
    contentType: output.ContentType,
    cacheControl: output.CacheControl,
    acceptRanges: true,
  };
}

interface SdkError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/**
 * SDK errors by HTTP status, never by name or message: a 304 arrives as `Unknown` and a HEAD 404
 * as `NotFound` (see the field notes).
 */
function translate(error: unknown): SourceError {
  const status = (error as SdkError).$metadata?.httpStatusCode;
  if (status === undefined) return networkFailure(error);
  if (status === 404) return new SourceError('not-found', 'no such object', { cause: error });
  if (status === 412)
    return new SourceError('precondition-failed', 'object changed', { cause: error });
  const retryable = status >= 500 || status === 429 || (error as SdkError).name === 'SlowDown';
  return new SourceError('unavailable', `storage answered ${status}`, { cause: error, retryable });
}
