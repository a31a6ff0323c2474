/** The query job: every query, sync or async, is recorded as one (the audit trail). */
import { conflict } from './errors.js';

export type JobStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
export const JOB_STATUSES: readonly JobStatus[] = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** Legal transitions: from → allowed targets. */
const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  QUEUED: ['RUNNING', 'CANCELLED'],
  RUNNING: ['COMPLETED', 'FAILED', 'CANCELLED', 'QUEUED'],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
};

/** The statuses a job may be in for `to` to be legal. */
export function allowedSources(to: JobStatus): JobStatus[] {
  return JOB_STATUSES.filter((from) => TRANSITIONS[from].includes(to));
}

export function assertTransition(from: JobStatus, to: JobStatus): void {
  if (!TRANSITIONS[from].includes(to)) {
    throw conflict(`job is ${from}; cannot move to ${to}`, { status: from });
  }
}

export interface JobError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** A result column as the job records it (name and warehouse type name). */
export interface ResultColumn {
  name: string;
  type: string;
}

/** Where a finished async job's rows are, in the ResultStore, and until when. */
export interface JobResultLocation {
  /** ResultStore key of the NDJSON data file (one JSON object per row). */
  key: string;
  columns: ResultColumn[];
  expiresAt: string;
}

export interface QueryJob {
  jobId: string;
  tenantId: string;
  status: JobStatus;
  /** The SQL as the tenant submitted it (what they recognise); the deparsed SQL is in `plannedSql`. */
  sql: string;
  plannedSql: string | null;
  async: boolean;
  rowLimit: number;
  timeoutSeconds: number;
  submittedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  rowCount: number | null;
  /** Sync queries: whether rows beyond the limit existed (only the limit was returned). */
  truncated: boolean | null;
  executionTimeMs: number | null;
  error: JobError | null;
  /** Warehouse reference of the running statement, for cancellation from any process. */
  statementRef: string | null;
  /** Credential that submitted the job (key id or JWT subject). */
  submittedBy: string;
  expiresAt: string;
  version: number;

  // What only the asynchronous path fills (`asyncFieldsUnset()` for sync jobs).
  /** Bind values for `$1..$n` of `plannedSql`. */
  params: unknown[];
  /** Database role the worker runs the statement as (the submitter's, at submission). */
  dbUser: string | null;
  /** Times a worker claimed the job (lease expiry and transient errors re-queue it). */
  attempts: number;
  /** The worker process holding the job while RUNNING, and until when (renewed by heartbeats). */
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  /** A re-queued job is not claimed before this time (backoff after a transient error). */
  notBefore: string | null;
  /** Rows written so far while RUNNING. */
  rowsFetched: number | null;
  /** Bytes of the stored result (NDJSON) once COMPLETED. */
  sizeBytes: number | null;
  result: JobResultLocation | null;
  /** Async jobs submitted with `output_format: "parquet"`: the worker writes that file beside the result. */
  outputFormat?: 'parquet';
}

/** The async-only fields of a job that never went through the queue (sync queries). */
export function asyncFieldsUnset(): Pick<
  QueryJob,
  | 'params'
  | 'dbUser'
  | 'attempts'
  | 'leaseOwner'
  | 'leaseExpiresAt'
  | 'notBefore'
  | 'rowsFetched'
  | 'sizeBytes'
  | 'result'
> {
  return {
    params: [],
    dbUser: null,
    attempts: 0,
    leaseOwner: null,
    leaseExpiresAt: null,
    notBefore: null,
    rowsFetched: null,
    sizeBytes: null,
    result: null,
  };
}

/** `rowLimit` of an async job submitted without `limit`: every row is kept. */
export const UNLIMITED_ROWS = 2_147_483_647;

/** Error codes a job records beyond the API's own (API.md "Errors"). */
export const JOB_ERROR_CODES = {
  /** The job's worker stopped renewing its lease too many times. */
  MAX_ATTEMPTS_EXCEEDED: 'MAX_ATTEMPTS_EXCEEDED',
} as const;

/**
 * `job-`, the creation time (ms since the epoch, 11 hex digits), then 48 random bits. Ids sort by
 * creation: a store's (tenant_id, job_id) index takes each new record at its right edge instead of
 * at a random leaf page, which, once the index outgrows memory, cost every insert a page read and
 * most of the small query's PostgreSQL CPU (docs/benchmarks.md). Ids stay unguessable in practice
 * and scoped to their tenant.
 */
export function newJobId(now: number = Date.now()): string {
  const random = crypto.randomUUID();
  return `job-${now.toString(16).padStart(11, '0')}${random.slice(0, 8)}${random.slice(9, 13)}`;
}
