import { errors } from 'undici';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../errors.js';
import { networkFailure } from './network-errors.js';

function errno(code: string, message = `connect ${code} 10.0.0.7:9000`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('networkFailure', () => {
  it('passes a SourceError through untouched', () => {
    const original = new SourceError('not-found', 'no such object');
    expect(networkFailure(original)).toBe(original);
  });

  it('maps an abort to aborted, not retryable', () => {
    const failure = networkFailure(new DOMException('This operation was aborted', 'AbortError'));
    expect(failure.failure).toBe('aborted');
    expect(failure.retryable).toBe(false);
  });

  // Each code with what it says of the connection.
  it.each([
    ['ECONNREFUSED', 'nothing listened'],
    ['ECONNRESET', 'the peer dropped the connection'],
    ['EPIPE', 'the peer closed while we wrote'],
    ['ETIMEDOUT', 'the connection timed out'],
    ['EAI_AGAIN', 'DNS failed for now'],
    ['EHOSTUNREACH', 'no route to the host for now'],
    ['ENETUNREACH', 'no route to the network for now'],
  ])('maps %s (%s) to a retryable unavailable naming the code only', (code) => {
    const cause = errno(code);
    const failure = networkFailure(cause);
    expect(failure.failure).toBe('unavailable');
    expect(failure.retryable).toBe(true);
    expect(failure.message).toBe(`source unreachable (${code})`);
    expect(failure.cause).toBe(cause);
  });

  it('finds the errno on the cause, as undici and fetch report it', () => {
    const failure = networkFailure(new TypeError('fetch failed', { cause: errno('ECONNRESET') }));
    expect(failure.retryable).toBe(true);
    expect(failure.message).toBe('source unreachable (ECONNRESET)');
  });

  it('maps undici socket and closed errors to retryable', () => {
    expect(networkFailure(new errors.SocketError('other side closed')).retryable).toBe(true);
    expect(networkFailure(new errors.ClientClosedError()).retryable).toBe(true);
  });

  it('maps undici connect and headers timeouts to timeout', () => {
    expect(networkFailure(new errors.ConnectTimeoutError()).failure).toBe('timeout');
    expect(networkFailure(new errors.HeadersTimeoutError()).failure).toBe('timeout');
  });

  it('maps a TimeoutError without a retryable errno to timeout, and one with it to unavailable', () => {
    const plain = Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    expect(networkFailure(plain).failure).toBe('timeout');
    const renamed = Object.assign(errno('ECONNRESET'), { name: 'TimeoutError' });
    expect(networkFailure(renamed).failure).toBe('unavailable');
    expect(networkFailure(renamed).retryable).toBe(true);
  });

  it('maps anything else to unavailable, not retryable, without its message', () => {
    const failure = networkFailure(errno('ECERTHASEXPIRED', 'certificate of 10.0.0.7 expired'));
    expect(failure.failure).toBe('unavailable');
    expect(failure.retryable).toBe(false);
    expect(failure.message).not.toContain('10.0.0.7');
    expect(networkFailure('a string').message).toBe('source unreachable (error)');
    expect(networkFailure(undefined).failure).toBe('unavailable');
  });

  it('looks no deeper than three causes', () => {
    const deep = new Error('a', {
      cause: new Error('b', { cause: new Error('c', { cause: errno('ECONNRESET') }) }),
    });
    expect(networkFailure(deep).retryable).toBe(false);
  });
});
