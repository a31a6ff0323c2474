/** Row ⇄ BulkJob mapping of the `bulk_jobs` table (migration 4), shared by the bulk store and queue. */
import type { BulkJob } from '../../domain/bulk-job.js';
import type { BulkJobPatch } from '../port.js';
import { iso } from './job-rows.js';

export function rowToBulkJob(r: Record<string, unknown>): BulkJob {
  return {
    jobId: r.job_id as string,
    tenantId: r.tenant_id as string,
    operation: r.operation as BulkJob['operation'],
    object: (r.object as string | null) ?? null,
    query: (r.query as string | null) ?? null,
    plannedSql: (r.planned_sql as string | null) ?? null,
    contentType: r.content_type as BulkJob['contentType'],
    compression: r.compression as BulkJob['compression'],
    columnDelimiter: r.column_delimiter as BulkJob['columnDelimiter'],
    lineEnding: r.line_ending as BulkJob['lineEnding'],
    jsonFormat: r.json_format as BulkJob['jsonFormat'],
    externalIdField: (r.external_id_field as string | null) ?? null,
    state: r.state as BulkJob['state'],
    dbUser: r.db_user as string,
    createdBy: r.created_by as string,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    queuedAt: iso(r.queued_at),
    startedAt: iso(r.started_at),
    completedAt: iso(r.completed_at),
    recordsProcessed: Number(r.records_processed ?? 0),
    recordsFailed: Number(r.records_failed ?? 0),
    error: (r.error as BulkJob['error']) ?? null,
    upload: (r.upload as BulkJob['upload']) ?? null,
    result: (r.result as BulkJob['result']) ?? null,
    timeoutSeconds: r.timeout_seconds as number,
    statementRef: (r.statement_ref as string | null) ?? null,
    attempts: (r.attempts as number | undefined) ?? 0,
    leaseOwner: (r.lease_owner as string | null) ?? null,
    leaseExpiresAt: iso(r.lease_expires_at),
    notBefore: iso(r.not_before),
    expiresAt: iso(r.expires_at)!,
    version: r.version as number,
  };
}

const json = (v: unknown) => (v == null ? null : JSON.stringify(v));

/** Column → value of a new job, in insert order. */
export function bulkInsertRow(j: BulkJob): [string, unknown][] {
  return [
    ['tenant_id', j.tenantId],
    ['job_id', j.jobId],
    ['operation', j.operation],
    ['object', j.object],
    ['query', j.query],
    ['planned_sql', j.plannedSql],
    ['content_type', j.contentType],
    ['compression', j.compression],
    ['column_delimiter', j.columnDelimiter],
    ['line_ending', j.lineEnding],
    ['json_format', j.jsonFormat],
    ['external_id_field', j.externalIdField],
    ['state', j.state],
    ['db_user', j.dbUser],
    ['created_by', j.createdBy],
    ['created_at', j.createdAt],
    ['updated_at', j.updatedAt],
    ['queued_at', j.queuedAt],
    ['started_at', j.startedAt],
    ['completed_at', j.completedAt],
    ['records_processed', j.recordsProcessed],
    ['records_failed', j.recordsFailed],
    ['error', json(j.error)],
    ['upload', json(j.upload)],
    ['result', json(j.result)],
    ['timeout_seconds', j.timeoutSeconds],
    ['statement_ref', j.statementRef],
    ['attempts', j.attempts],
    ['lease_owner', j.leaseOwner],
    ['lease_expires_at', j.leaseExpiresAt],
    ['not_before', j.notBefore],
    ['expires_at', j.expiresAt],
    ['version', j.version],
  ];
}

const PATCH_COLUMNS: Record<keyof BulkJobPatch, string> = {
  state: 'state',
  queuedAt: 'queued_at',
  startedAt: 'started_at',
  completedAt: 'completed_at',
  recordsProcessed: 'records_processed',
  recordsFailed: 'records_failed',
  error: 'error',
  upload: 'upload',
  result: 'result',
  statementRef: 'statement_ref',
  leaseOwner: 'lease_owner',
  leaseExpiresAt: 'lease_expires_at',
  notBefore: 'not_before',
};
const JSON_FIELDS = new Set<keyof BulkJobPatch>(['error', 'upload', 'result']);

/** `SET` assignments for a patch, appending their values to `params`. */
export function bulkPatchAssignments(patch: BulkJobPatch, params: unknown[]): string[] {
  const sets: string[] = [];
  for (const [field, col] of Object.entries(PATCH_COLUMNS) as [keyof BulkJobPatch, string][]) {
    if (!(field in patch)) continue;
    const v = patch[field];
    params.push(JSON_FIELDS.has(field) ? json(v) : v);
    sets.push(`${col} = $${params.length}`);
  }
  return sets;
}
