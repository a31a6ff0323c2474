/**
 * The QueryService's observer: turns what the query pipeline reports into metrics and into the
 * current request's facts (for its audit record and log lines).
 */
import { AUDIT_SQL_MAX_CHARS } from '../domain/audit-entry.js';
import type { ApiError } from '../domain/errors.js';
import type { QueryJob } from '../domain/query-job.js';
import type { QueryObserver } from '../services/query-service.js';
import type { SqlPlan } from '../sql/index.js';
import { currentRequest } from './request-scope.js';
import type { ServiceMetrics } from './service-metrics.js';

/** Error codes that mean "the SQL guard refused the statement". */
const GUARD_CODES = new Set([
  'INVALID_SQL',
  'UNSUPPORTED_SYNTAX',
  'UNSUPPORTED_ON_REDSHIFT',
  'SQL_BLOCKED',
  'COMPLEXITY_EXCEEDED',
]);

export function createQueryObserver(metrics: ServiceMetrics | null): QueryObserver {
  return {
    planned(plan: SqlPlan) {
      const scope = currentRequest();
      if (!scope) return;
      scope.query.fingerprint = plan.fingerprint;
      scope.query.sql = plan.sql;
      scope.query.paramNames = [...plan.paramNames];
    },
    refused(err: ApiError, sql: string) {
      if (GUARD_CODES.has(err.code)) metrics?.guardRejections.inc({ code: err.code });
      const scope = currentRequest();
      if (!scope) return;
      scope.query.errorCode = err.code;
      scope.query.sql ??= typeof sql === 'string' ? sql.slice(0, AUDIT_SQL_MAX_CHARS) : undefined;
    },
    finished(job: QueryJob) {
      if (metrics) {
        metrics.jobFinished('query', job.async ? 'async' : 'sync', job.status);
        if (job.executionTimeMs !== null)
          metrics.queryExecution.observe({ status: job.status }, job.executionTimeMs / 1000);
      }
      const scope = currentRequest();
      if (!scope) return;
      scope.query.jobId = job.jobId;
      scope.query.jobStatus = job.status;
      scope.query.rowCount = job.rowCount ?? undefined;
      if (job.error) scope.query.errorCode = job.error.code;
      scope.log.bind({ job_id: job.jobId });
    },
  };
}
