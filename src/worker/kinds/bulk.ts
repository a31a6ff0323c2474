/**
 * The bulk job kind: an export into the ResultStore or an import into the warehouse
 * (services/bulk-export.ts, bulk-import.ts), with the counters (`number_records_processed`,
 * `number_records_failed`) written with each lease renewal. Its states: UploadComplete is its
 * queued state, InProgress its running one, JobComplete | Failed its ends. What an unfinished
 * attempt wrote is deleted; an import's transaction rolls back in the warehouse, so its table is
 * unchanged.
 */
import type { BulkJob, BulkResult } from '../../domain/bulk-job.js';
import { ApiError } from '../../domain/errors.js';
import { type BulkProgress, type BulkRunContext, runBulkExport } from '../../services/bulk-export.js';
import { bulkFolder, isAttemptFile } from '../../services/bulk-files.js';
import { runBulkImport } from '../../services/bulk-import.js';
import type { StateStore } from '../../state/port.js';
import type { ResultStore } from '../../storage/port.js';
import type { Warehouse } from '../../warehouse/port.js';
import type { ClaimableKind, JobKind, WorkerLog, WorkerMetrics } from '../job-kind.js';
import { claimable } from '../job-run.js';

export const BULK_KIND = 'bulk';

export interface BulkRunSettings {
  gzipLevel: number;
  parquetRowGroupRows: number;
  maxFileBytes: number;
}

export interface BulkKindDeps {
  state: StateStore;
  warehouse: Warehouse;
  results: ResultStore;
  log: WorkerLog;
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  metrics?: WorkerMetrics | undefined;
  settings: BulkRunSettings;
}

/** An import's own message details (unknown column, missing privilege, …) kept in the job's error. */
const IMPORT_ERROR_DETAILS = [
  'unknown_columns',
  'missing_columns',
  'privilege',
  'table',
  'max_bytes',
  'column',
] as const;

/** The bulk job kind; undefined when the state store keeps no bulk jobs. */
export function bulkJobKind(deps: BulkKindDeps): JobKind<BulkJob, BulkResult, BulkProgress> | undefined {
  const stores = deps.state.bulk;
  if (!stores) return undefined;
  const { results } = deps;
  return {
    name: BULK_KIND,
    noun: 'bulk job',
    queue: stores.queue,
    inactiveTenantMessage: 'the tenant is suspended or deleted; its bulk jobs do not run',
    newProgress: () => ({ processed: 0, failed: 0 }),
    heartbeat: (p) => ({ rowsFetched: p.processed, rowsFailed: p.failed }),

    async execute(job, run) {
      const ctx: BulkRunContext = {
        warehouse: deps.warehouse,
        results,
        progress: run.progress,
        gzipLevel: deps.settings.gzipLevel,
        parquetRowGroupRows: deps.settings.parquetRowGroupRows,
        maxFileBytes: deps.settings.maxFileBytes,
        execution: {
          tenantId: job.tenantId,
          dbUser: job.dbUser,
          timeoutMs: job.timeoutSeconds * 1000,
          signal: run.signal,
          label: job.jobId,
          onStatement: run.onStatement,
        },
      };
      let result: BulkResult;
      if (job.operation === 'query') {
        result = await runBulkExport(job, ctx);
      } else {
        const outcome = await runBulkImport(job, ctx);
        result = outcome.result;
        run.progress.processed = outcome.processed;
        run.progress.failed = outcome.failed;
      }
      await run.statementRecorded();
      run.throwIfStopped();
      return result;
    },

    async complete(job, result, run) {
      const { progress } = run;
      try {
        await stores.jobs.transition(
          job.tenantId,
          job.jobId,
          ['InProgress'],
          {
            state: 'JobComplete',
            completedAt: new Date().toISOString(),
            recordsProcessed: progress.processed,
            recordsFailed: progress.failed,
            result,
            leaseOwner: null,
            leaseExpiresAt: null,
          },
          run.guard,
        );
      } catch (e) {
        // An export's file goes; an import has committed (its counts are in the log).
        if (result.key) await results.delete(result.key).catch(() => {});
        if (result.failedKey) await results.delete(result.failedKey).catch(() => {});
        throw e;
      }
      deps.metrics?.resultBytesStored(result.key ? result.sizeBytes : 0);
      deps.metrics?.jobFinished('bulk', 'async', 'JobComplete');
      const keep = new Set([result.key, result.failedKey]);
      for (const o of await results.list(bulkFolder(job)).catch(() => [])) {
        if (isAttemptFile(o.key) && !keep.has(o.key)) await results.delete(o.key).catch(() => {});
      }
      deps.log.info(
        {
          job_id: job.jobId,
          tenant_id: job.tenantId,
          operation: job.operation,
          processed: progress.processed,
          failed: progress.failed,
          ms: Math.round(performance.now() - run.startedAt),
        },
        'bulk job completed',
      );
    },

    async requeue(job, notBefore, guard) {
      await stores.jobs.transition(
        job.tenantId,
        job.jobId,
        ['InProgress'],
        { state: 'UploadComplete', notBefore, leaseOwner: null, leaseExpiresAt: null, statementRef: null },
        guard,
      );
    },

    async fail(job, error, run) {
      await stores.jobs.transition(
        job.tenantId,
        job.jobId,
        ['InProgress'],
        {
          state: 'Failed',
          completedAt: new Date().toISOString(),
          recordsProcessed: run.progress.processed,
          recordsFailed: run.progress.failed,
          error,
          leaseOwner: null,
          leaseExpiresAt: null,
        },
        run.guard,
      );
      deps.metrics?.jobFinished('bulk', 'async', 'Failed');
    },

    recordStatement: (job, ref, guard) =>
      stores.jobs.transition(job.tenantId, job.jobId, ['InProgress'], { statementRef: ref }, guard),

    jobError(jobError, cause) {
      if (!(cause instanceof ApiError) || jobError.code === 'INTERNAL_ERROR') return jobError;
      for (const k of IMPORT_ERROR_DETAILS) {
        if (cause.details[k] !== undefined) jobError.details = { ...jobError.details, [k]: cause.details[k] };
      }
      return jobError;
    },
  };
}

/** The bulk kind as the worker loop claims it; undefined when the state store keeps no bulk jobs. */
export function claimableBulkKind(deps: BulkKindDeps): ClaimableKind | undefined {
  const kind = bulkJobKind(deps);
  return kind && claimable(kind, deps);
}
