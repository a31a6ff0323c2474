/** A queued async query job with every field of the record set, for state-store tests. */
import { randomUUID } from 'node:crypto';
import { asyncFieldsUnset, type QueryJob } from '../../src/domain/query-job.js';

const HOUR = 3_600_000;

/** QUEUED, `SELECT 1`, submitted now and expiring an hour later unless `overrides` say otherwise. */
export function queuedQueryJob(tenantId: string, overrides: Partial<QueryJob> = {}): QueryJob {
  const submittedAt = overrides.submittedAt ?? new Date().toISOString();
  return {
    jobId: `job-${randomUUID().slice(0, 12)}`,
    tenantId,
    status: 'QUEUED',
    sql: 'SELECT 1',
    plannedSql: null,
    async: true,
    rowLimit: 10,
    timeoutSeconds: 60,
    submittedAt,
    startedAt: null,
    completedAt: null,
    rowCount: null,
    truncated: null,
    executionTimeMs: null,
    error: null,
    statementRef: null,
    submittedBy: 'k',
    expiresAt: new Date(Date.parse(submittedAt) + HOUR).toISOString(),
    version: 1,
    ...asyncFieldsUnset(),
    ...overrides,
  };
}
