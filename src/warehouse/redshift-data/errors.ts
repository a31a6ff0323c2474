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

/** `ERROR:  relation "x" does not exist` → `relation "x" does not exist`, as the PostgreSQL adapter reports it. */
export function statementFailure(error: string | undefined, statementId: string): ApiError {
  const message = (error ?? 'the warehouse failed the statement').replace(/^ERROR:\s*/, '');
  return new ApiError('QUERY_FAILED', message, { statement_id: statementId });
}
