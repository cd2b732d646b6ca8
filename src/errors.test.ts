import { describe, expect, it } from 'vitest';
import { bytesErrorCodes, GatewayError, imageErrorCodes, type SourceFailure } from './errors.js';

const failures: SourceFailure[] = [
  'not-found',
  'precondition-failed',
  'unavailable',
  'timeout',
  'truncated',
  'aborted',
];

describe('error catalogue', () => {
  it('words every source failure of the image route as the original service did', () => {
    const statuses = failures.map(
      (failure) => new GatewayError(imageErrorCodes[failure]).statusCode,
    );
    expect(statuses).toEqual([404, 502, 502, 504, 502, 502]);
    expect(new GatewayError('IMAGE_NOT_FOUND').detail).toBe('Image not found');
    expect(new GatewayError('IMAGE_SOURCE_FAILED').detail).toBe('Failed to get the image');
  });

  it('answers every upstream failure of the bytes route with 502, a timeout with 504', () => {
    const statuses = failures.map(
      (failure) => new GatewayError(bytesErrorCodes[failure]).statusCode,
    );
    expect(statuses).toEqual([502, 502, 502, 504, 502, 502]);
    expect(new GatewayError('BYTES_SOURCE_FAILED').detail).toBe('Failed to download bytes');
  });

  it('keeps the cause out of the detail', () => {
    const error = new GatewayError('IMAGE_SOURCE_FAILED', { cause: new Error('AKID at 10.1.2.3') });
    expect(error.detail).toBe('Failed to get the image');
    expect(error.code).toBe('IMAGE_SOURCE_FAILED');
  });

  it('words access-control refusals without saying which check failed', () => {
    const answers = (['NOT_AUTHENTICATED', 'FORBIDDEN', 'CREDENTIALS_TOO_LARGE'] as const).map(
      (code) => [new GatewayError(code).statusCode, new GatewayError(code).detail],
    );
    expect(answers).toEqual([
      [401, 'Not authenticated'],
      [403, 'Forbidden'],
      [431, 'Request Header Fields Too Large'],
    ]);
    expect(new GatewayError('PRECONDITION_FAILED').detail).toBe('Precondition Failed');
  });
});
