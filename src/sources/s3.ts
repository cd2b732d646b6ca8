import { describeObject, dumpBody, objectStream, type ResponseHeaders } from './http-response.js';
import type { S3BucketClient, S3RequestHeaders } from './s3/client.js';
import type { ObjectInfo, ObjectStream, ReadOptions, Source } from './source.js';
import { NotModified } from './source.js';

/** S3-compatible storage: one bucket, keys as given. */
export class S3Source implements Source {
  constructor(private readonly client: S3BucketClient) {}

  async stat(key: string, signal: AbortSignal): Promise<ObjectInfo> {
    const response = await this.client.request('HEAD', key, {}, signal);
    await dumpBody(response);
    return describe(response.headers);
  }

  async read(key: string, options: ReadOptions): Promise<ObjectStream> {
    const { range, ifMatch, ifNoneMatch, signal } = options;
    const headers: S3RequestHeaders = {};
    if (range) headers.range = `bytes=${range.start}-${range.end}`;
    if (ifMatch !== undefined) headers['if-match'] = ifMatch;
    if (ifNoneMatch !== undefined) headers['if-none-match'] = ifNoneMatch;
    const response = await this.client.request('GET', key, headers, signal);
    if (response.statusCode === 304) throw new NotModified();
    return objectStream(response, describe(response.headers));
  }

  /** Ready when the bucket exists and the credentials may use it (HeadBucket). */
  async probe(signal: AbortSignal): Promise<void> {
    const response = await this.client.request('HEAD', undefined, {}, signal);
    await dumpBody(response);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** S3 answers ranges for every object, whether or not it says `accept-ranges`. */
function describe(headers: ResponseHeaders): ObjectInfo {
  return { ...describeObject(headers), acceptRanges: true };
}
