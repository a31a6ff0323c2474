/** Redshift Data API failures → the service's error algebra (API.md "Errors"). */
import { ApiError } from '../../domain/errors.js';

/** Seconds a client should wait after the warehouse refused work for capacity reasons. */
export const CAPACITY_RETRY_AFTER_SECONDS = 5;
/** Seconds a client should wait after the Data API throttled us. */
export const THROTTLE_RETRY_AFTER_SECONDS = 2;

interface AwsErrorLike {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

export function awsErrorName(e: unknown): string {
  const err = e as AwsErrorLike | null;
  return err?.name ?? err?.code ?? 'Error';
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
]);
const CAPACITY = new Set([
  'ActiveStatementsExceededException',
  'ActiveSessionsExceededException',
  'ActiveWaitingRequestsExceededException',
]);
const UNAVAILABLE = new Set([
  'DatabaseConnectionException',
  'InternalServerException',
  'ServiceUnavailableException',
  'ExecuteStatementException',
  'BatchExecuteStatementException',
]);
const CREDENTIALS = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'CredentialsProviderError',
  'InvalidClientTokenId',
]);

/** Refused for load before anything ran (throttled, or too many active statements): safe to send again. */
export function isRefusedForLoad(e: unknown): boolean {
  const err = (e ?? {}) as AwsErrorLike;
  const name = awsErrorName(e);
  return (
    THROTTLING.has(name) ||
    name === 'ActiveStatementsExceededException' ||
    err.$retryable?.throttling === true ||
    err.$metadata?.httpStatusCode === 429
  );
}

/** A read (DescribeStatement, GetStatementResult) that may succeed if sent again: load, 5xx, network. */
export function isTransientRead(e: unknown): boolean {
  if (isRefusedForLoad(e)) return true;
  const name = awsErrorName(e);
  if (name === 'ValidationException' || name === 'ResourceNotFoundException' || CREDENTIALS.has(name)) {
    return false;
  }
  const status = (e as AwsErrorLike | null)?.$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || UNAVAILABLE.has(name);
}

/** Session errors after which a statement can be retried without the session. */
export function isSessionRefusal(e: unknown): boolean {
  const name = awsErrorName(e);
  const message = (e as AwsErrorLike | null)?.message ?? '';
  if (name === 'ActiveSessionsExceededException') return true;
  return (name === 'ValidationException' || name === 'ResourceNotFoundException') && /session/i.test(message);
}

/** Maps an error thrown by the Data API client (or the network below it) to an ApiError. */
export function translateAwsError(e: unknown, operation: string): ApiError {
  if (e instanceof ApiError) return e;
  const err = (e ?? {}) as AwsErrorLike;
  const name = awsErrorName(e);
  const message = err.message ?? String(e);
  const details = { operation, cause: name };
  if (THROTTLING.has(name) || err.$retryable?.throttling || err.$metadata?.httpStatusCode === 429) {
    return new ApiError(
      'RATE_LIMITED',
      'the warehouse is throttling requests; retry later',
      details,
      THROTTLE_RETRY_AFTER_SECONDS,
    );
  }
  if (CAPACITY.has(name)) {
    return new ApiError(
      'WAREHOUSE_UNAVAILABLE',
      'the warehouse is running as many statements as it allows; retry later',
      details,
      CAPACITY_RETRY_AFTER_SECONDS,
    );
  }
  if (name === 'QueryTimeoutException') {
    return new ApiError('QUERY_TIMEOUT', 'the warehouse timed the statement out', details);
  }
  if (name === 'ValidationException') {
    return new ApiError('QUERY_FAILED', message, details);
  }
  if (CREDENTIALS.has(name)) {
    return new ApiError(
      'WAREHOUSE_UNAVAILABLE',
      'the warehouse refused the service credentials',
      details,
      CAPACITY_RETRY_AFTER_SECONDS,
    );
  }
  // Unmodelled 5xx, socket errors (ECONNREFUSED, timeouts) and the server faults above.
  return new ApiError(
    'WAREHOUSE_UNAVAILABLE',
    UNAVAILABLE.has(name) ? message : 'the warehouse cannot be reached; retry later',
    details,
    CAPACITY_RETRY_AFTER_SECONDS,
  );
}

/**
 * The Data API reports a failed statement as text only (`DescribeStatement.Error`), without the
 * SQLSTATE the PostgreSQL adapter returns. The common failures are recognised by their wording
 * (Redshift's messages are PostgreSQL's); an explicit `SQLSTATE xxxxx` in the text wins.
 */
const SQLSTATE_BY_MESSAGE: readonly [RegExp, string][] = [
  [/^column .* does not exist/i, '42703'],
  [/^relation .* does not exist/i, '42P01'],
  [/^schema .* does not exist/i, '3F000'],
  [/^function .* does not exist/i, '42883'],
  [/^operator does not exist/i, '42883'],
  [/^permission denied/i, '42501'],
  [/^syntax error/i, '42601'],
  [/^division by zero/i, '22012'],
  [/^invalid input syntax/i, '22P02'],
  [/^value too long/i, '22001'],
  [/out of range/i, '22003'],
  [/^null value in column/i, '23502'],
  [/^duplicate key value/i, '23505'],
  [/^new row violates row-level security/i, '42501'],
  [/^canceling statement due to (statement timeout|user request)/i, '57014'],
];

export function sqlStateOf(message: string): string | undefined {
  const explicit = /\bSQLSTATE[:= ]+([0-9A-Z]{5})\b/.exec(message);
  if (explicit) return explicit[1];
  return SQLSTATE_BY_MESSAGE.find(([pattern]) => pattern.test(message))?.[1];
}

/** `ERROR:  relation "x" does not exist` → `relation "x" does not exist`, as the PostgreSQL adapter reports it. */
export function statementFailure(error: string | undefined, statementId: string): ApiError {
  const message = (error ?? 'the warehouse failed the statement').replace(/^ERROR:\s*/, '');
  if (RESULT_CAP.test(message)) return resultOverDataApiCap(message, statementId);
  const sqlstate = sqlStateOf(message);
  return new ApiError('QUERY_FAILED', message, {
    ...(sqlstate ? { sqlstate } : {}),
    statement_id: statementId,
  });
}

/** The Data API's own result caps (64 KB per row, 100 MB per result set: data-api-troubleshooting.html). */
const RESULT_CAP = /packet for query is too large|database response exceeded size limit/i;

function resultOverDataApiCap(message: string, statementId: string): ApiError {
  return new ApiError(
    'RESULT_TOO_LARGE',
    `${message}. Results that large come back only through UNLOAD: submit the query with "async": true (or as a bulk export) on a deployment with SPECTRA_REDSHIFT_S3_ROLE_ARN set`,
    { reason: 'data_api_result_cap', statement_id: statementId, setting: 'SPECTRA_REDSHIFT_S3_ROLE_ARN' },
  );
}
