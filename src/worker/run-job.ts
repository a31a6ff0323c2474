/**
 * Runs one claimed job: streams its rows as NDJSON into the ResultStore (memory bounded by one
 * fetch batch, whatever the row count), renews the lease while it runs, and finishes with a
 * conditional transition guarded by the lease — so a job that was cancelled, or re-queued after
 * this worker lost its lease, is never overwritten. Whatever it does not finish, it deletes.
 */
import { ApiError } from '../domain/errors.js';
import { type QueryJob, type ResultColumn, UNLIMITED_ROWS } from '../domain/query-job.js';
import { createEncoder } from '../formats/index.js';
import type { StateStore } from '../state/port.js';
import type { ResultStore, ResultWriter } from '../storage/port.js';
import type { RowSink, Warehouse } from '../warehouse/port.js';
import { isTransient, jobErrorOf, retryDelayMs } from './failure-policy.js';

/**
 * Why a run was stopped from outside. `shutdown`: the process is stopping, the job goes back to the
 * queue. `deadline`: the process cannot give the job the time it needs (a Lambda invocation about to
 * time out): back to the queue while attempts remain, else FAILED, so a job too long for one
 * invocation does not loop forever.
 */
export type StopReason = 'cancelled' | 'lost' | 'shutdown' | 'deadline';

/**
 * What a run ended as: what it recorded (COMPLETED, FAILED, or back to the queue), STOPPED when it
 * was cancelled or lost its lease (whoever moved the job recorded that), UNRECORDED when the state
 * store refused the outcome (the job's lease decides what happens next).
 */
export type RunEnd = 'COMPLETED' | 'FAILED' | 'REQUEUED' | 'STOPPED' | 'UNRECORDED';

export interface WorkerLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface RunJobDeps {
  state: StateStore;
  warehouse: Warehouse;
  results: ResultStore;
  log: WorkerLog;
  owner: string;
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  resultTtlMs: number;
  /** Worker metrics (the service's Prometheus registry); absent when metrics are off. */
  metrics?: WorkerMetrics | undefined;
}

/** What the worker reports to the metrics registry. */
export interface WorkerMetrics {
  leaseRenewed(): void;
  leaseRecovered(count: number): void;
  resultBytesStored(bytes: number): void;
  jobFinished(kind: 'query' | 'bulk', mode: 'sync' | 'async', status: string): void;
}

/** Key of a job attempt's result file: attempts never share a file, so a zombie cannot clobber a retry. */
export function resultKey(job: Pick<QueryJob, 'tenantId' | 'jobId' | 'attempts'>): string {
  return `${job.tenantId}/${job.jobId}/result-${job.attempts}.ndjson`;
}

export const jobPrefix = (job: Pick<QueryJob, 'tenantId' | 'jobId'>) => `${job.tenantId}/${job.jobId}/`;

/** Progress is written with each heartbeat; heartbeats are at least this frequent. */
const MAX_HEARTBEAT_INTERVAL_MS = 1000;

export class JobRun {
  private readonly controller = new AbortController();
  private stopReason: StopReason | undefined;
  rowsFetched = 0;

  constructor(
    readonly job: QueryJob,
    private readonly deps: RunJobDeps,
  ) {}

  stop(reason: StopReason): void {
    if (this.controller.signal.aborted) return;
    this.stopReason = reason;
    this.controller.abort(new ApiError('QUERY_FAILED', `job stopped: ${reason}`));
  }

  async run(): Promise<RunEnd> {
    const { job, deps } = this;
    const started = performance.now();
    const lease = { owner: deps.owner, ms: deps.leaseMs };
    let lastRenewal = Date.now();
    const beat = setInterval(
      () => {
        deps.state.jobQueue.heartbeat(job.tenantId, job.jobId, lease, { rowsFetched: this.rowsFetched }).then(
          (held) => {
            if (held) {
              lastRenewal = Date.now();
              deps.metrics?.leaseRenewed();
            } else this.stop('lost');
          },
          () => {
            // The state store is unreachable: keep running while the lease may still be ours.
            if (Date.now() - lastRenewal > deps.leaseMs) this.stop('lost');
          },
        );
      },
      Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.max(50, Math.floor(deps.leaseMs / 3))),
    );
    const key = resultKey(job);
    let writer: ResultWriter | undefined;
    try {
      await this.checkTenant();
      writer = await deps.results.createWriter(key);
      const w = writer;
      const encoder = createEncoder('ndjson');
      let columns: ResultColumn[] = [];
      const cap = job.rowLimit === UNLIMITED_ROWS ? undefined : job.rowLimit;
      let truncated = false;
      const sink: RowSink = {
        columns: (cols) => {
          columns = cols.map((c) => ({ name: c.name, type: c.type }));
          return w.write(encoder.begin(cols));
        },
        rows: (batch) => {
          if (cap !== undefined && this.rowsFetched + batch.length > cap) {
            truncated = true;
            batch = batch.slice(0, cap - this.rowsFetched);
          }
          this.rowsFetched += batch.length;
          return w.write(encoder.encode(batch));
        },
      };
      let recorded: Promise<unknown> = Promise.resolve();
      await deps.warehouse.execute(
        {
          tenantId: job.tenantId,
          dbUser: job.dbUser ?? '',
          timeoutMs: job.timeoutSeconds * 1000,
          signal: this.controller.signal,
          label: job.jobId,
          resultOfAnySize: true,
          ...(cap !== undefined ? { maxRows: cap + 1 } : {}),
          onStatement: (ref) => {
            // The reference lets any process cancel the statement; a conflict means we were cancelled meanwhile.
            recorded = deps.state.jobs
              .transition(
                job.tenantId,
                job.jobId,
                ['RUNNING'],
                { statementRef: ref },
                { leaseOwner: deps.owner },
              )
              .catch((e) => {
                if (e instanceof ApiError && (e.code === 'CONFLICT' || e.code === 'NOT_FOUND'))
                  this.stop('lost');
              });
          },
        },
        { sql: job.plannedSql ?? '', params: job.params },
        sink,
      );
      await recorded;
      await w.write(encoder.end());
      if (this.controller.signal.aborted) throw this.controller.signal.reason;
      const { sizeBytes } = await w.close();
      writer = undefined;
      deps.metrics?.resultBytesStored(sizeBytes);
      try {
        await deps.state.jobs.transition(
          job.tenantId,
          job.jobId,
          ['RUNNING'],
          {
            status: 'COMPLETED',
            completedAt: new Date().toISOString(),
            rowCount: this.rowsFetched,
            rowsFetched: this.rowsFetched,
            truncated,
            sizeBytes,
            executionTimeMs: Math.round(performance.now() - started),
            result: { key, columns, expiresAt: new Date(Date.now() + deps.resultTtlMs).toISOString() },
            leaseOwner: null,
            leaseExpiresAt: null,
          },
          { leaseOwner: deps.owner },
        );
      } catch (e) {
        await deps.results.delete(key).catch(() => {});
        throw e;
      }
      // Files of earlier attempts (a worker that died mid-job) go now that this one is the result.
      for (const o of await deps.results.list(jobPrefix(job)).catch(() => [])) {
        if (o.key !== key && o.key.includes('/result-')) await deps.results.delete(o.key).catch(() => {});
      }
      deps.log.info({ job_id: job.jobId, tenant_id: job.tenantId, rows: this.rowsFetched }, 'job completed');
      return 'COMPLETED';
    } catch (error) {
      await writer?.abort().catch(() => {});
      return await this.fail(error, started);
    } finally {
      clearInterval(beat);
    }
  }

  /** The tenant must still exist and be active when its job starts. */
  private async checkTenant(): Promise<void> {
    const tenant = await this.deps.state.tenants.get(this.job.tenantId);
    if (tenant?.status !== 'active') {
      throw new ApiError('FORBIDDEN', 'the tenant is suspended or deleted; its queued jobs do not run');
    }
    if (!this.job.dbUser || !this.job.plannedSql)
      throw new ApiError('INTERNAL_ERROR', 'job has no statement');
  }

  private async fail(error: unknown, started: number): Promise<RunEnd> {
    const { job, deps } = this;
    const reason = this.stopReason;
    // Cancelled or lost: the job's status was already moved by whoever stopped us.
    if (reason === 'cancelled' || reason === 'lost') {
      deps.log.info({ job_id: job.jobId, reason }, 'job stopped');
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
        await deps.state.jobs.transition(
          job.tenantId,
          job.jobId,
          ['RUNNING'],
          {
            status: 'QUEUED',
            notBefore: new Date(Date.now() + delay).toISOString(),
            leaseOwner: null,
            leaseExpiresAt: null,
            statementRef: null,
            rowsFetched: null,
          },
          guard,
        );
        deps.log.warn(
          { job_id: job.jobId, attempt: job.attempts, retry_in_ms: delay, err: jobErrorOf(error) },
          'job re-queued',
        );
        return 'REQUEUED';
      }
      const jobError = jobErrorOf(error);
      if (jobError.code === 'INTERNAL_ERROR') deps.log.error({ job_id: job.jobId, err: error }, 'job failed');
      await deps.state.jobs.transition(
        job.tenantId,
        job.jobId,
        ['RUNNING'],
        {
          status: 'FAILED',
          completedAt: new Date().toISOString(),
          executionTimeMs: Math.round(performance.now() - started),
          rowsFetched: this.rowsFetched,
          error: jobError,
          leaseOwner: null,
          leaseExpiresAt: null,
        },
        guard,
      );
      return 'FAILED';
    } catch (e) {
      // CONFLICT: cancelled (or re-queued elsewhere) while we failed; nothing of ours to record.
      if (!(e instanceof ApiError && (e.code === 'CONFLICT' || e.code === 'NOT_FOUND'))) {
        deps.log.error({ job_id: job.jobId, err: e }, 'could not record the job outcome');
        return 'UNRECORDED';
      }
      return 'STOPPED';
    }
  }
}

/** The error of a job stopped for lack of time on its last attempt. */
export function outOfTime(attempts: number): ApiError {
  return new ApiError(
    'QUERY_TIMEOUT',
    `the job did not finish within the worker's time limit in ${attempts} attempts; ask for a shorter timeout_seconds or split the query`,
    { reason: 'worker_time_limit', attempts },
  );
}
