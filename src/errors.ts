/**
 * The error catalogue. Sources throw SourceError (what went wrong with the source); routes turn
 * it into a GatewayError (what the client is told). Nothing else reaches a response body, so no
 * SDK message, stack, credential or internal address can leak.
 */

/** What went wrong with a source, independent of the backend. */
export type SourceFailure =
  | 'not-found'
  | 'precondition-failed'
  | 'unavailable'
  | 'timeout'
  | 'truncated'
  | 'aborted';

export class SourceError extends Error {
  readonly failure: SourceFailure;
  /** Safe to ask the source again: the failure happened before anything was delivered. */
  readonly retryable: boolean;

  constructor(
    failure: SourceFailure,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'SourceError';
    this.failure = failure;
    this.retryable = options.retryable ?? false;
  }
}

export type ErrorCode =
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_SOURCE_FAILED'
  | 'IMAGE_SOURCE_TIMEOUT'
  | 'BYTES_SOURCE_FAILED'
  | 'BYTES_SOURCE_TIMEOUT'
  | 'TOO_MANY_STREAMS'
  | 'SHUTTING_DOWN'
  | 'URL_TOO_LONG'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'BAD_REQUEST'
  | 'NOT_AUTHENTICATED'
  | 'FORBIDDEN'
  | 'CREDENTIALS_TOO_LARGE'
  | 'PRECONDITION_FAILED';

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 412 | 414 | 431 | 502 | 503 | 504;

const catalogue: Record<ErrorCode, { status: ErrorStatus; detail: string }> = {
  IMAGE_NOT_FOUND: { status: 404, detail: 'Image not found' },
  IMAGE_SOURCE_FAILED: { status: 502, detail: 'Failed to get the image' },
  IMAGE_SOURCE_TIMEOUT: { status: 504, detail: 'Storage did not answer in time' },
  BYTES_SOURCE_FAILED: { status: 502, detail: 'Failed to download bytes' },
  BYTES_SOURCE_TIMEOUT: { status: 504, detail: 'Upstream did not answer in time' },
  TOO_MANY_STREAMS: { status: 503, detail: 'Too many concurrent downloads, retry later' },
  SHUTTING_DOWN: { status: 503, detail: 'Server is shutting down' },
  URL_TOO_LONG: { status: 414, detail: 'URL too long' },
  ROUTE_NOT_FOUND: { status: 404, detail: 'Not Found' },
  METHOD_NOT_ALLOWED: { status: 405, detail: 'Method Not Allowed' },
  BAD_REQUEST: { status: 400, detail: 'Bad Request' },
  NOT_AUTHENTICATED: { status: 401, detail: 'Not authenticated' },
  FORBIDDEN: { status: 403, detail: 'Forbidden' },
  CREDENTIALS_TOO_LARGE: { status: 431, detail: 'Request Header Fields Too Large' },
  PRECONDITION_FAILED: { status: 412, detail: 'Precondition Failed' },
};

/** An error with a stable code, the status and detail the client sees, and its cause. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: ErrorStatus;
  readonly detail: string;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    const { status, detail } = catalogue[code];
    super(detail, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.statusCode = status;
    this.detail = detail;
    this.headers = options.headers ?? {};
  }
}

/** How one route words each source failure. */
export type SourceErrorCodes = Record<SourceFailure, ErrorCode>;

export const imageErrorCodes: SourceErrorCodes = {
  'not-found': 'IMAGE_NOT_FOUND',
  'precondition-failed': 'IMAGE_SOURCE_FAILED',
  unavailable: 'IMAGE_SOURCE_FAILED',
  truncated: 'IMAGE_SOURCE_FAILED',
  aborted: 'IMAGE_SOURCE_FAILED',
  timeout: 'IMAGE_SOURCE_TIMEOUT',
};

/** The original answered every upstream failure, a 404 included, as a failed download. */
export const bytesErrorCodes: SourceErrorCodes = {
  'not-found': 'BYTES_SOURCE_FAILED',
  'precondition-failed': 'BYTES_SOURCE_FAILED',
  unavailable: 'BYTES_SOURCE_FAILED',
  truncated: 'BYTES_SOURCE_FAILED',
  aborted: 'BYTES_SOURCE_FAILED',
  timeout: 'BYTES_SOURCE_TIMEOUT',
};

/** FastAPI's shape for a bad request parameter (HTTP 422). */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class ValidationError extends Error {
  readonly statusCode = 422;
  constructor(readonly issues: ValidationIssue[]) {
    super(issues.map((issue) => issue.msg).join('; '));
    this.name = 'ValidationError';
  }
}
