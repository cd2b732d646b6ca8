import { describe, expect, it } from 'vitest';
import { errorCode, s3Failure } from './errors.js';

describe('S3 error mapping', () => {
  it.each([
    [404, 'NoSuchKey', 'not-found', false],
    [404, 'NoSuchBucket', 'not-found', false],
    [404, undefined, 'not-found', false],
    [412, 'PreconditionFailed', 'precondition-failed', false],
    [412, undefined, 'precondition-failed', false],
    [403, 'AccessDenied', 'unavailable', false],
    [403, 'SignatureDoesNotMatch', 'unavailable', false],
    [403, 'InvalidAccessKeyId', 'unavailable', false],
    [416, 'InvalidRange', 'unavailable', false],
    [304, undefined, 'unavailable', false],
    [503, 'SlowDown', 'unavailable', true],
    [503, undefined, 'unavailable', true],
    [500, 'InternalError', 'unavailable', true],
    [429, undefined, 'unavailable', true],
    [400, 'RequestTimeout', 'unavailable', true],
  ] as const)('%i %s is %s (retryable: %s)', (status, code, failure, retryable) => {
    const error = s3Failure(status, code);
    expect(error.failure).toBe(failure);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toBe(`storage answered ${status}${code ? ` ${code}` : ''}`);
  });

  it('reads the code of an S3 error document and nothing else', () => {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>secret at 10.0.0.7</Message><StringToSign>AWS4</StringToSign></Error>';
    expect(errorCode(body)).toBe('SignatureDoesNotMatch');
    expect(errorCode('<Error><Code>has spaces & secrets</Code></Error>')).toBeUndefined();
    expect(errorCode('<html>bad gateway</html>')).toBeUndefined();
    expect(errorCode('')).toBeUndefined();
  });
});
