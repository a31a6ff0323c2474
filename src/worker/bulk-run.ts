/**
 * Runs one claimed bulk job (a job kind of JobWorker, beside query jobs): an export into the
 * ResultStore or an import into the warehouse (services/bulk-export.ts, bulk-import.ts), with the
 * lease renewed and the counters (`number_records_processed`, `number_records_failed`) written
 * while it runs. It finishes with a conditional move guarded by its lease — InProgress →
 * JobComplete | Failed, or back to UploadComplete for another attempt after a transient failure
 * or on shutdown — so a job aborted meanwhile, or taken over after this worker lost its lease,
 * is never overwritten. What an unfinished attempt wrote is deleted; an import's transaction
 * rolls back in the warehouse, so its table is unchanged.
 */

import type { BulkJob, BulkResult } from '../domain/bulk-job.js';
import { ApiError } from '../domain/errors.js';
import { type BulkRunContext, runBulkExport } from '../services/bulk-export.js';
import { bulkFolder, isAttemptFile } from '../services/bulk-files.js';
import { runBulkImport } from '../services/bulk-import.js';
import type { BulkStateStores, JobQueueStore, QueuedJob, StateStore } from '../state/port.js';
import type { ResultStore } from '../storage/port.js';
import type { Warehouse } from '../warehouse/port.js';
import { isTransient, jobErrorOf, retryDelayMs } from './failure-policy.js';
import type { JobKind, JobRunner } from './job-worker.js';
import { keepLease } from './lease.js';
import { outOfTime, type RunEnd, type StopReason, type WorkerLog, type WorkerMetrics } from './run-job.js';

export interface BulkRunSettings {
  gzipLevel: number;
  parquetRowGroupRows: number;
  maxFileBytes: number;
}

export interface BulkRunDeps {
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

/** The bulk job kind for JobWorker; undefined when the state store keeps no bulk jobs. */
export function bulkJobKind(deps: BulkRunDeps): JobKind | undefined {
  const stores = deps.state.bulk;
  if (!stores) return undefined;
  const kind: JobKind<BulkJob> = {
    name: 'bulk',
    queue: stores.queue,
    start: (job, owner) => new BulkJobRun(job, stores, { ...deps, owner }),
  };
  return kind as unknown as JobKind;
}

export class BulkJobRun implements JobRunner {
  private readonly controller = new AbortController();
  private stopReason: StopReason | undefined;
  private readonly progress = { processed: 0, failed: 0 };

  constructor(
    readonly job: BulkJob,
    private readonly stores: BulkStateStores,
    private readonly deps: BulkRunDeps & { owner: string },
  ) {}

  stop(reason: StopReason): void {
    if (this.controller.signal.aborted) return;
    this.stopReason = reason;
    this.controller.abort(new ApiError('QUERY_FAILED', `bulk job stopped: ${reason}`));
  }

  async run(): Promise<RunEnd> {
    const { job, deps, stores } = this;
    const started = performance.now();
    const guard = { leaseOwner: deps.owner };
    const stopLease = keepLease({
      queue: stores.queue as unknown as JobQueueStore<QueuedJob>,
      job,
      lease: { owner: deps.owner, ms: deps.leaseMs },
      progress: () => ({ rowsFetched: this.progress.processed, rowsFailed: this.progress.failed }),
      onLost: () => this.stop('lost'),
      onRenewed: () => deps.metrics?.leaseRenewed(),
    });
    try {
      await this.checkTenant();
      let recorded: Promise<unknown> = Promise.resolve();
      const ctx: BulkRunContext = {
        warehouse: deps.warehouse,
        results: deps.results,
        progress: this.progress,
        gzipLevel: deps.settings.gzipLevel,
        parquetRowGroupRows: deps.settings.parquetRowGroupRows,
        maxFileBytes: deps.settings.maxFileBytes,
        execution: {
          tenantId: job.tenantId,
          dbUser: job.dbUser,
          timeoutMs: job.timeoutSeconds * 1000,
          signal: this.controller.signal,
          label: job.jobId,
          onStatement: (ref) => {
            // Lets an Abort from any process cancel the statement; a conflict means we were aborted meanwhile.
            recorded = stores.jobs
              .transition(job.tenantId, job.jobId, ['InProgress'], { statementRef: ref }, guard)
              .catch((e) => {
                if (e instanceof ApiError && (e.code === 'CONFLICT' || e.code === 'NOT_FOUND'))
                  this.stop('lost');
              });
          },
        },
      };
      let result: BulkResult;
      if (job.operation === 'query') {
        result = await runBulkExport(job, ctx);
      } else {
        const outcome = await runBulkImport(job, ctx);
        result = outcome.result;
        this.progress.processed = outcome.processed;
        this.progress.failed = outcome.failed;
      }
      await recorded;
      if (this.controller.signal.aborted) throw this.controller.signal.reason;
      try {
        await stores.jobs.transition(
          job.tenantId,
          job.jobId,
          ['InProgress'],
          {
            state: 'JobComplete',
            completedAt: new Date().toISOString(),
            recordsProcessed: this.progress.processed,
            recordsFailed: this.progress.failed,
            result,
            leaseOwner: null,
            leaseExpiresAt: null,
          },
          guard,
        );
      } catch (e) {
        // An export's file goes; an import has committed (its counts are in the log).
        if (result.key) await deps.results.delete(result.key).catch(() => {});
        if (result.failedKey) await deps.results.delete(result.failedKey).catch(() => {});
        throw e;
      }
      deps.metrics?.resultBytesStored(result.key ? result.sizeBytes : 0);
      deps.metrics?.jobFinished('bulk', 'async', 'JobComplete');
      await this.deleteEarlierAttempts(result);
      deps.log.info(
        {
          job_id: job.jobId,
          tenant_id: job.tenantId,
          operation: job.operation,
          processed: this.progress.processed,
          failed: this.progress.failed,
          ms: Math.round(performance.now() - started),
        },
        'bulk job completed',
      );
      return 'COMPLETED';
    } catch (error) {
      return await this.fail(error);
    } finally {
      stopLease();
    }
  }

  private async deleteEarlierAttempts(result: BulkResult): Promise<void> {
    const keep = new Set([result.key, result.failedKey]);
    for (const o of await this.deps.results.list(bulkFolder(this.job)).catch(() => [])) {
      if (isAttemptFile(o.key) && !keep.has(o.key)) await this.deps.results.delete(o.key).catch(() => {});
    }
  }

  /** The tenant must still exist and be active when its job starts. */
  private async checkTenant(): Promise<void> {
    const tenant = await this.deps.state.tenants.get(this.job.tenantId);
    if (tenant?.status !== 'active') {
      throw new ApiError('FORBIDDEN', 'the tenant is suspended or deleted; its bulk jobs do not run');
    }
  }

  private async fail(error: unknown): Promise<RunEnd> {
    const { job, deps, stores } = this;
    const reason = this.stopReason;
    if (reason === 'cancelled' || reason === 'lost') {
      deps.log.info({ job_id: job.jobId, reason }, 'bulk job stopped');
      return 'STOPPED';
    }
    const guard = { leaseOwner: deps.owner };
    const retryable = reason === 'deadline' || isTransient(error);
    const requeue = reason === 'shutdown' || (retryable && job.attempts < deps.maxAttempts);
    if (reason === 'deadline' && !requeue) error = outOfTime(job.attempts);
    try {
      if (requeue) {
        const delay =
          reason === 'shutdown' || reason === 'deadline' ? 0 : retryDelayMs(job.attempts, deps.retryBaseMs);
        await stores.jobs.transition(
          job.tenantId,
          job.jobId,
          ['InProgress'],
          {
            state: 'UploadComplete',
            notBefore: new Date(Date.now() + delay).toISOString(),
            leaseOwner: null,
            leaseExpiresAt: null,
            statementRef: null,
          },
          guard,
        );
        deps.log.warn(
          { job_id: job.jobId, attempt: job.attempts, retry_in_ms: delay, err: jobErrorOf(error) },
          'bulk job re-queued',
        );
        return 'REQUEUED';
      }
      const jobError = jobErrorOf(error);
      if (jobError.code === 'INTERNAL_ERROR')
        deps.log.error({ job_id: job.jobId, err: error }, 'bulk job failed');
      // The import's own message (unknown column, missing privilege, …) is the job's error.
      if (error instanceof ApiError && jobError.code !== 'INTERNAL_ERROR') {
        for (const k of [
          'unknown_columns',
          'missing_columns',
          'privilege',
          'table',
          'max_bytes',
          'column',
        ] as const) {
          if (error.details[k] !== undefined)
            jobError.details = { ...jobError.details, [k]: error.details[k] };
        }
      }
      await stores.jobs.transition(
        job.tenantId,
        job.jobId,
        ['InProgress'],
        {
          state: 'Failed',
          completedAt: new Date().toISOString(),
          recordsProcessed: this.progress.processed,
          recordsFailed: this.progress.failed,
          error: jobError,
          leaseOwner: null,
          leaseExpiresAt: null,
        },
        guard,
      );
      deps.metrics?.jobFinished('bulk', 'async', 'Failed');
      return 'FAILED';
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 'CONFLICT' || e.code === 'NOT_FOUND'))) {
        deps.log.error({ job_id: job.jobId, err: e }, 'could not record the bulk job outcome');
        return 'UNRECORDED';
      }
      return 'STOPPED';
    }
  }
}
