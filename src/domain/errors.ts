/**
 * The one error algebra of the service. Every failure, from any layer, becomes an ApiError whose
 * code decides the HTTP status (API.md "Errors"). Handlers never pick status codes themselves.
 */

export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  INVALID_SQL: 400,
  UNSUPPORTED_SYNTAX: 400,
  /** PostgreSQL-only SQL refused for a Redshift warehouse before any round trip (docs/sql-dialect.md). */
  UNSUPPORTED_ON_REDSHIFT: 400,
  SQL_BLOCKED: 400,
  COMPLEXITY_EXCEEDED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  /** A job's result file is gone (the bucket's lifecycle or the retention sweep removed it). */
  RESULT_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  /** A response bigger than the runtime can return (Lambda's payload limit): run the query async. */
  RESULT_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  EXPECTATION_FAILED: 417,
  IDEMPOTENCY_CONFLICT: 422,
  QUERY_FAILED: 422,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  WAREHOUSE_UNAVAILABLE: 503,
  QUERY_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorDetails = Record<string, unknown>;

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  /** Seconds a client should wait before retrying (sets `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, retryAfterSeconds?: number) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  /**
   * An error that is an expected answer, not a fault (an overload refusal): built without a stack
   * trace, whose capture was 14 % of a shed refusal's CPU (http/overload-shed.ts).
   */
  static expected(code: ErrorCode, message: string, details: ErrorDetails = {}, retryAfterSeconds?: number) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new ApiError(code, message, details, retryAfterSeconds);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

export const isApiError = (e: unknown): e is ApiError => e instanceof ApiError;

/** The JSON body every error response carries. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: ErrorDetails; request_id: string };
}

export function errorBody(err: ApiError, requestId: string): ErrorBody {
  return { error: { code: err.code, message: err.message, details: err.details, request_id: requestId } };
}

export const invalidRequest = (message: string, details: ErrorDetails = {}) =>
  new ApiError('INVALID_REQUEST', message, details);
export const notFound = (what: string) => new ApiError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string, details: ErrorDetails = {}) =>
  new ApiError('CONFLICT', message, details);
/** A result file the job record names is gone (bucket lifecycle, retention sweep): 410, not a dead URL. */
export const resultExpired = (what: string, details: ErrorDetails = {}) =>
  new ApiError('RESULT_EXPIRED', `${what} has expired and was deleted; run the job again`, details);
export const unauthorized = (message = 'missing or invalid credentials') =>
  new ApiError('UNAUTHORIZED', message);
export const forbidden = (message: string, details: ErrorDetails = {}) =>
  new ApiError('FORBIDDEN', message, details);
