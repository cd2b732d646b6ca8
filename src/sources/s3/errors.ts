import { SourceError } from '../../errors.js';

/** S3 error codes that decide the failure whatever the status says. */
const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NoSuchBucket', 'NotFound']);
const RETRYABLE_CODES = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'Throttling',
  'ThrottlingException',
]);

/** S3 codes are short CamelCase words; anything else is not repeated, even in logs. */
const CODE_SHAPE = /^[A-Za-z][A-Za-z0-9.]{0,63}$/;
const CODE_ELEMENT = /<Code>([^<]{1,64})<\/Code>/;

/** The `<Code>` of an S3 XML error body, when it has a plausible one. */
export function errorCode(body: string): string | undefined {
  const code = CODE_ELEMENT.exec(body)?.[1]?.trim();
  return code !== undefined && CODE_SHAPE.test(code) ? code : undefined;
}

/**
 * What an S3 error answer means for the gateway. The message names the status and the S3 code
 * only: the body's message, the key, the bucket and credentials never go into it.
 */
export function s3Failure(status: number, code: string | undefined): SourceError {
  const message = `storage answered ${status}${code === undefined ? '' : ` ${code}`}`;
  if (status === 404 || (code !== undefined && NOT_FOUND_CODES.has(code))) {
    return new SourceError('not-found', message);
  }
  if (status === 412 || code === 'PreconditionFailed') {
    return new SourceError('precondition-failed', message);
  }
  const retryable =
    status === 500 ||
    status === 502 ||
    status === 503 ||
    status === 504 ||
    status === 429 ||
    (code !== undefined && RETRYABLE_CODES.has(code));
  // AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId, InvalidRange (416), a 304 not asked for and
  // anything else: storage refused, and asking again will not change that.
  return new SourceError('unavailable', message, { retryable });
}
