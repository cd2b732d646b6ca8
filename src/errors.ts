/**
 * The error catalogue: every answer a client can see that is not an object. Sources throw
 * SourceError (what went wrong with the source); routes turn it into a GatewayError (what the
 * client is told). Nothing else reaches a response body, so no SDK message, stack, credential
 * or internal address can leak. The README's error table lists the same codes; a test checks
 * both ways.
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
    options: { retryable?: boolean | undefined; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'SourceError';
    this.failure = failure;
    this.retryable = options.retryable ?? false;
  }
}

export type ErrorStatus =
  | 400
  | 401
  | 403
  | 404
  | 405
  | 408
  | 412
  | 413
  | 414
  | 416
  | 431
  | 500
  | 502
  | 503
  | 504;

/** Every catalogued answer: a stable code, its status and the detail the client reads. */
export const catalogue = {
  IMAGE_NOT_FOUND: { status: 404, detail: 'Image not found' },
  IMAGE_SOURCE_FAILED: { status: 502, detail: 'Failed to get the image' },
  IMAGE_SOURCE_TIMEOUT: { status: 504, detail: 'Storage did not answer in time' },
  BYTES_SOURCE_FAILED: { status: 502, detail: 'Failed to download bytes' },
  BYTES_SOURCE_TIMEOUT: { status: 504, detail: 'Upstream did not answer in time' },
  OBJECT_NOT_FOUND: { status: 404, detail: 'Object not found' },
  OBJECT_SOURCE_FAILED: { status: 502, detail: 'Failed to get the object' },
  OBJECT_SOURCE_TIMEOUT: { status: 504, detail: 'Source did not answer in time' },
  PRECONDITION_FAILED: { status: 412, detail: 'Precondition Failed' },
  RANGE_NOT_SATISFIABLE: { status: 416, detail: 'Range Not Satisfiable' },
  TOO_MANY_STREAMS: { status: 503, detail: 'Too many concurrent downloads, retry later' },
  SHUTTING_DOWN: { status: 503, detail: 'Server is shutting down' },
  NOT_READY: { status: 503, detail: 'Not ready' },
  METRICS_UNAVAILABLE: { status: 503, detail: 'Metrics unavailable, retry later' },
  URL_TOO_LONG: { status: 414, detail: 'URL too long' },
  ROUTE_NOT_FOUND: { status: 404, detail: 'Not Found' },
  METHOD_NOT_ALLOWED: { status: 405, detail: 'Method Not Allowed' },
  BAD_REQUEST: { status: 400, detail: 'Bad Request' },
  REQUEST_TIMEOUT: { status: 408, detail: 'Request Timeout' },
  PAYLOAD_TOO_LARGE: { status: 413, detail: 'Payload Too Large' },
  HEADERS_TOO_LARGE: { status: 431, detail: 'Request Header Fields Too Large' },
  NOT_AUTHENTICATED: { status: 401, detail: 'Not authenticated' },
  FORBIDDEN: { status: 403, detail: 'Forbidden' },
  CREDENTIALS_TOO_LARGE: { status: 431, detail: 'Request Header Fields Too Large' },
  INTERNAL_ERROR: { status: 500, detail: 'Internal Server Error' },
} as const satisfies Record<string, { status: ErrorStatus; detail: string }>;

export type ErrorCode = keyof typeof catalogue;

/** Stable code of the FastAPI-shaped 422 answer, whose detail is a list of issues. */
export const VALIDATION_FAILED = 'VALIDATION_FAILED';

/** An error with a stable code, the status and detail the client sees, and its cause. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: ErrorStatus;
  readonly detail: string;
  readonly headers: Readonly<Record<string, string>>;

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

/** The catalogued code for a client error Fastify or Node reports only by its status. */
export function clientErrorCode(status: number): ErrorCode {
  switch (status) {
    case 404:
      return 'ROUTE_NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 408:
      return 'REQUEST_TIMEOUT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 414:
      return 'URL_TOO_LONG';
    case 416:
      return 'RANGE_NOT_SATISFIABLE';
    case 431:
      return 'HEADERS_TOO_LARGE';
    default:
      return 'BAD_REQUEST';
  }
}

/** How one route words each source failure. */
export type SourceErrorCodes = Readonly<Record<SourceFailure, ErrorCode>>;

export const imageErrorCodes: SourceErrorCodes = {
  'not-found': 'IMAGE_NOT_FOUND',
  'precondition-failed': 'IMAGE_SOURCE_FAILED',
  unavailable: 'IMAGE_SOURCE_FAILED',
  truncated: 'IMAGE_SOURCE_FAILED',
  aborted: 'IMAGE_SOURCE_FAILED',
  timeout: 'IMAGE_SOURCE_TIMEOUT',
};

/** The original service answered every upstream failure, a 404 included, as a failed download. */
export const bytesErrorCodes: SourceErrorCodes = {
  'not-found': 'BYTES_SOURCE_FAILED',
  'precondition-failed': 'BYTES_SOURCE_FAILED',
  unavailable: 'BYTES_SOURCE_FAILED',
  truncated: 'BYTES_SOURCE_FAILED',
  aborted: 'BYTES_SOURCE_FAILED',
  timeout: 'BYTES_SOURCE_TIMEOUT',
};

/** The wording of `reply.sendObject` (src/plugin.ts) unless a call or the plugin says otherwise. */
export const objectErrorCodes: SourceErrorCodes = {
  'not-found': 'OBJECT_NOT_FOUND',
  'precondition-failed': 'OBJECT_SOURCE_FAILED',
  unavailable: 'OBJECT_SOURCE_FAILED',
  truncated: 'OBJECT_SOURCE_FAILED',
  aborted: 'OBJECT_SOURCE_FAILED',
  timeout: 'OBJECT_SOURCE_TIMEOUT',
};

/** FastAPI's shape for a bad request parameter (HTTP 422). */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class ValidationError extends Error {
  readonly code = VALIDATION_FAILED;
  readonly statusCode = 422;
  constructor(readonly issues: ValidationIssue[]) {
    super(issues.map((issue) => issue.msg).join('; '));
    this.name = 'ValidationError';
  }
}
