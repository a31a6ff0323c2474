/**
 * The QueryService's observer: turns what the query pipeline reports into metrics and into the
 * calling request's facts (for its audit record and log lines).
 */
import { AUDIT_SQL_MAX_CHARS } from '../domain/audit-entry.js';
import type { ApiError } from '../domain/errors.js';
import type { QueryJob } from '../domain/query-job.js';
import type { QueryFacts, QueryObserver } from '../services/query-service.js';
import type { SqlPlan } from '../sql/index.js';
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
    planned(plan: SqlPlan, facts?: QueryFacts) {
      if (!facts) return;
      facts.fingerprint = plan.fingerprint;
      facts.sql = plan.sql;
      facts.paramNames = [...plan.paramNames];
    },
    refused(err: ApiError, sql: string, facts?: QueryFacts) {
      if (GUARD_CODES.has(err.code)) metrics?.guardRejections.inc({ code: err.code });
      if (!facts) return;
      facts.errorCode = err.code;
      facts.sql ??= typeof sql === 'string' ? sql.slice(0, AUDIT_SQL_MAX_CHARS) : undefined;
    },
    finished(job: QueryJob, facts?: QueryFacts) {
      if (metrics) {
        metrics.jobFinished('query', job.async ? 'async' : 'sync', job.status);
        if (job.executionTimeMs !== null)
          metrics.queryExecution.observe({ status: job.status }, job.executionTimeMs / 1000);
      }
      if (!facts) return;
      facts.jobId = job.jobId;
      facts.jobStatus = job.status;
      facts.rowCount = job.rowCount ?? undefined;
      if (job.error) facts.errorCode = job.error.code;
    },
  };
}
