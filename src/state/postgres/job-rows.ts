/** Row ⇄ QueryJob mapping of the `query_jobs` table, shared by the job, queue and retention stores. */
import type { JobStatus, QueryJob, ResultColumn } from '../../domain/query-job.js';
import type { JobPatch } from '../port.js';

export const iso = (v: unknown): string | null => (v == null ? null : (v as Date).toISOString());

export function rowToJob(r: Record<string, unknown>): QueryJob {
  const result = r.result as { key: string; columns: ResultColumn[] } | null;
  return {
    jobId: r.job_id as string,
    tenantId: r.tenant_id as string,
    status: r.status as JobStatus,
    sql: r.sql as string,
    plannedSql: (r.planned_sql as string | null) ?? null,
    async: r.async as boolean,
    rowLimit: r.row_limit as number,
    timeoutSeconds: r.timeout_seconds as number,
    submittedAt: iso(r.submitted_at)!,
    startedAt: iso(r.started_at),
    completedAt: iso(r.completed_at),
    rowCount: r.row_count == null ? null : Number(r.row_count),
    truncated: (r.truncated as boolean | null) ?? null,
    executionTimeMs: (r.execution_time_ms as number | null) ?? null,
    error: (r.error as QueryJob['error']) ?? null,
    statementRef: (r.statement_ref as string | null) ?? null,
    submittedBy: r.submitted_by as string,
    expiresAt: iso(r.expires_at)!,
    version: r.version as number,
    params: (r.params as unknown[] | undefined) ?? [],
    dbUser: (r.db_user as string | null) ?? null,
    attempts: (r.attempts as number | undefined) ?? 0,
    leaseOwner: (r.lease_owner as string | null) ?? null,
    leaseExpiresAt: iso(r.lease_expires_at),
    notBefore: iso(r.not_before),
    rowsFetched: r.rows_fetched == null ? null : Number(r.rows_fetched),
    sizeBytes: r.size_bytes == null ? null : Number(r.size_bytes),
    result:
      result && r.result_expires_at
        ? { key: result.key, columns: result.columns, expiresAt: iso(r.result_expires_at)! }
        : null,
    ...(r.output_format === 'parquet' ? { outputFormat: 'parquet' as const } : {}),
  };
}

/** Columns of the job insert, in order; `jobInsertValues` gives the matching parameters. */
export const JOB_INSERT_COLUMNS = [
  'tenant_id',
  'job_id',
  'status',
  'sql',
  'planned_sql',
  'async',
  'row_limit',
  'timeout_seconds',
  'submitted_at',
  'started_at',
  'completed_at',
  'row_count',
  'truncated',
  'execution_time_ms',
  'error',
  'statement_ref',
  'submitted_by',
  'expires_at',
  'version',
  'params',
  'db_user',
  'attempts',
  'lease_owner',
  'lease_expires_at',
  'not_before',
  'rows_fetched',
  'size_bytes',
  'result',
  'result_expires_at',
  'output_format',
] as const;

export function jobInsertValues(j: QueryJob): (string | number | boolean | null)[] {
  return [
    j.tenantId,
    j.jobId,
    j.status,
    j.sql,
    j.plannedSql,
    j.async,
    j.rowLimit,
    j.timeoutSeconds,
    j.submittedAt,
    j.startedAt,
    j.completedAt,
    j.rowCount,
    j.truncated,
    j.executionTimeMs,
    j.error && JSON.stringify(j.error),
    j.statementRef,
    j.submittedBy,
    j.expiresAt,
    j.version,
    JSON.stringify(j.params),
    j.dbUser,
    j.attempts,
    j.leaseOwner,
    j.leaseExpiresAt,
    j.notBefore,
    j.rowsFetched,
    j.sizeBytes,
    j.result && JSON.stringify({ key: j.result.key, columns: j.result.columns }),
    j.result?.expiresAt ?? null,
    j.outputFormat ?? null,
  ];
}

const SIMPLE_PATCH_COLUMNS: Record<Exclude<keyof JobPatch, 'result' | 'error'>, string> = {
  status: 'status',
  plannedSql: 'planned_sql',
  startedAt: 'started_at',
  completedAt: 'completed_at',
  rowCount: 'row_count',
  truncated: 'truncated',
  executionTimeMs: 'execution_time_ms',
  statementRef: 'statement_ref',
  rowsFetched: 'rows_fetched',
  sizeBytes: 'size_bytes',
  leaseOwner: 'lease_owner',
  leaseExpiresAt: 'lease_expires_at',
  notBefore: 'not_before',
};

/** `SET` assignments for a patch, appending their values to `params` (placeholders continue from it). */
export function patchAssignments(patch: JobPatch, params: unknown[]): string[] {
  const sets: string[] = [];
  const add = (col: string, v: unknown) => {
    params.push(v);
    sets.push(`${col} = $${params.length}`);
  };
  for (const [field, col] of Object.entries(SIMPLE_PATCH_COLUMNS) as [keyof JobPatch, string][]) {
    if (field in patch) add(col, patch[field]);
  }
  if ('error' in patch) add('error', patch.error == null ? null : JSON.stringify(patch.error));
  if ('result' in patch) {
    const r = patch.result;
    add('result', r ? JSON.stringify({ key: r.key, columns: r.columns }) : null);
    add('result_expires_at', r ? r.expiresAt : null);
  }
  return sets;
}
