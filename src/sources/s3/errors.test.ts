import { describe, expect, it } from 'vitest';
import { errorCode, s3Failure } from './errors.js';

describe('S3 error mapping', () => {
  /** S3's answers, grouped by what the gateway makes of them. */
  const outcomes = [
    { failure: 'not-found', retryable: false, answers: '404 NoSuchKey, 404 NoSuchBucket, 404' },
    { failure: 'precondition-failed', retryable: false, answers: '412 PreconditionFailed, 412' },
    {
      failure: 'unavailable',
      retryable: false,
      answers:
        '403 AccessDenied, 403 SignatureDoesNotMatch, 403 InvalidAccessKeyId, 416 InvalidRange, 304',
    },
    {
      failure: 'unavailable',
      retryable: true,
      answers: '503 SlowDown, 503, 500 InternalError, 429, 400 RequestTimeout',
    },
  ];
  const cases = outcomes.flatMap(({ failure, retryable, answers }) =>
    answers.split(', ').map((answer) => {
      const [status, code] = answer.split(' ');
      return { status: Number(status), code, failure, retryable };
    }),
  );

  it.each(cases)('$status $code is $failure (retryable: $retryable)', (answer) => {
    const { status, code, failure, retryable } = answer;
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
