/**
 * The one place a QueryJob record is made: a synchronous query's when it ends (COMPLETED or
 * FAILED: the caller learns the job id only then), an asynchronous job's when it is QUEUED.
 */
import { ApiError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { asyncFieldsUnset, type QueryJob, UNLIMITED_ROWS } from '../domain/query-job.js';
import type { PlannedRequest } from '../sql/index.js';

/** How the record's job stands: queued for a worker, or a synchronous query's end. */
export type QueryJobEnd =
  | { status: 'QUEUED' }
  | { status: 'COMPLETED'; rowCount: number; truncated: boolean; executionTimeMs: number }
  | { status: 'FAILED'; rowCount: number; executionTimeMs: number; error: unknown };

export function queryJobRecord(
  jobId: string,
  principal: Principal,
  sql: string,
  planned: PlannedRequest,
  submittedAt: Date,
  retentionDays: number,
  end: QueryJobEnd,
): QueryJob {
  const submitted = submittedAt.toISOString();
  const queued = end.status === 'QUEUED';
  const failure =
    end.status === 'FAILED'
      ? end.error instanceof ApiError
        ? end.error
        : new ApiError('INTERNAL_ERROR', 'internal error')
      : null;
  return {
    jobId,
    tenantId: principal.tenantId,
    status: end.status,
    sql,
    plannedSql: planned.plan.sql,
    async: queued,
    rowLimit: planned.limit ?? UNLIMITED_ROWS,
    timeoutSeconds: planned.timeoutSeconds,
    submittedAt: submitted,
    startedAt: queued ? null : submitted,
    completedAt: queued ? null : new Date().toISOString(),
    rowCount: queued ? null : end.rowCount,
    truncated: end.status === 'COMPLETED' ? end.truncated : null,
    executionTimeMs: queued ? null : end.executionTimeMs,
    error: failure ? { code: failure.code, message: failure.message } : null,
    statementRef: null,
    submittedBy: principal.credentialId,
    expiresAt: new Date(submittedAt.getTime() + retentionDays * 86_400_000).toISOString(),
    version: 1,
    // A sync query never goes through the queue: what only a worker fills stays unset.
    ...asyncFieldsUnset(),
    ...(queued ? { params: planned.params, dbUser: principal.dbUser } : {}),
  };
}
