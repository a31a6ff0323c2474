/**
 * Runs one claimed job of any kind to its end: the tenant must be active, the lease is renewed
 * (with the kind's progress) while the kind's body runs, and the end is a conditional move guarded
 * by the lease — completed, back to the queue after a transient failure or on shutdown/deadline,
 * or failed — so a job that was cancelled, or re-queued after this worker lost its lease, is never
 * overwritten.
 */
import { ApiError } from '../domain/errors.js';
import type { QueuedJob, TenantStore } from '../state/port.js';
import { isTransient, jobErrorOf, retryDelayMs } from './failure-policy.js';
import type {
  ClaimableKind,
  JobExecution,
  JobKind,
  JobRunner,
  RunEnd,
  StopReason,
  WorkerLog,
  WorkerMetrics,
} from './job-kind.js';
import { keepLease } from './lease.js';

export interface JobRunDeps {
  state: { tenants: Pick<TenantStore, 'get'> };
  log: WorkerLog;
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  /** Worker metrics (the service's Prometheus registry); absent when metrics are off. */
  metrics?: WorkerMetrics | undefined;
}

const refused = (e: unknown) => e instanceof ApiError && (e.code === 'CONFLICT' || e.code === 'NOT_FOUND');

export class JobRun<J extends QueuedJob, R, P> implements JobRunner {
  private readonly controller = new AbortController();
  private stopReason: StopReason | undefined;

  constructor(
    private readonly kind: JobKind<J, R, P>,
    readonly job: J,
    private readonly owner: string,
    private readonly deps: JobRunDeps,
    /** The tenant as read while the job was being claimed; read at start when absent. */
    private readonly tenant?: ReturnType<TenantStore['get']>,
  ) {}

  stop(reason: StopReason): void {
    if (this.controller.signal.aborted) return;
    this.stopReason = reason;
    this.controller.abort(new ApiError('QUERY_FAILED', `${this.kind.noun} stopped: ${reason}`));
  }

  async run(): Promise<RunEnd> {
    const { job, kind, deps } = this;
    const execution = this.begin();
    const stopLease = keepLease({
      queue: kind.queue,
      job,
      lease: { owner: this.owner, ms: deps.leaseMs },
      progress: () => kind.heartbeat(execution.progress),
      onLost: () => this.stop('lost'),
      onRenewed: () => deps.metrics?.leaseRenewed(),
    });
    try {
      await this.checkTenant();
      const result = await kind.execute(job, execution);
      await kind.complete(job, result, execution);
      return 'COMPLETED';
    } catch (error) {
      return await this.fail(error, execution);
    } finally {
      stopLease();
    }
  }

  private begin(): JobExecution<P> {
    const { job, kind } = this;
    let recorded: Promise<unknown> = Promise.resolve();
    const guard = { leaseOwner: this.owner };
    const signal = this.controller.signal;
    const execution: JobExecution<P> = {
      signal,
      guard,
      progress: kind.newProgress(),
      startedAt: performance.now(),
      onStatement: (ref) => {
        recorded = kind.recordStatement(job, ref, guard).catch((e) => {
          if (refused(e)) this.stop('lost');
        });
      },
      statementRecorded: () => recorded,
      throwIfStopped: () => {
        if (signal.aborted) throw signal.reason;
      },
    };
    return execution;
  }

  /** The tenant must still exist and be active when its job is claimed. */
  private async checkTenant(): Promise<void> {
    const tenant = await (this.tenant ?? this.deps.state.tenants.get(this.job.tenantId));
    if (tenant?.status !== 'active') throw new ApiError('FORBIDDEN', this.kind.inactiveTenantMessage);
  }

  private async fail(error: unknown, execution: JobExecution<P>): Promise<RunEnd> {
    const { job, kind, deps } = this;
    const reason = this.stopReason;
    // Cancelled or lost: the job's state was already moved by whoever stopped us.
    if (reason === 'cancelled' || reason === 'lost') {
      deps.log.info({ job_id: job.jobId, reason }, `${kind.noun} stopped`);
      return 'STOPPED';
    }
    const retryable = reason === 'deadline' || isTransient(error);
    const requeue = reason === 'shutdown' || (retryable && job.attempts < deps.maxAttempts);
    if (reason === 'deadline' && !requeue) error = outOfTime(job.attempts);
    try {
      if (requeue) {
        const delay =
          reason === 'shutdown' || reason === 'deadline' ? 0 : retryDelayMs(job.attempts, deps.retryBaseMs);
        await kind.requeue(job, new Date(Date.now() + delay).toISOString(), execution.guard);
        deps.log.warn(
          { job_id: job.jobId, attempt: job.attempts, retry_in_ms: delay, err: jobErrorOf(error) },
          `${kind.noun} re-queued`,
        );
        return 'REQUEUED';
      }
      let jobError = jobErrorOf(error);
      if (jobError.code === 'INTERNAL_ERROR')
        deps.log.error({ job_id: job.jobId, err: error }, `${kind.noun} failed`);
      if (kind.jobError) jobError = kind.jobError(jobError, error);
      await kind.fail(job, jobError, execution);
      return 'FAILED';
    } catch (e) {
      // CONFLICT: cancelled (or re-queued elsewhere) while we failed; nothing of ours to record.
      if (!refused(e)) {
        deps.log.error({ job_id: job.jobId, err: e }, `could not record the ${kind.noun} outcome`);
        return 'UNRECORDED';
      }
      return 'STOPPED';
    }
  }
}

/** The kind as the worker loop sees it: a claim on its queue hands back the run of the claimed job. */
export function claimable<J extends QueuedJob, R, P>(
  kind: JobKind<J, R, P>,
  deps: JobRunDeps,
): ClaimableKind {
  return {
    name: kind.name,
    queue: kind.queue,
    claim: async (tenantId, jobId, lease, maxRunning) => {
      // The tenant is read beside the claim, not after it: one round trip less before the job starts.
      const tenant = deps.state.tenants.get(tenantId);
      tenant.catch(() => {});
      const job = await kind.queue.claim(tenantId, jobId, lease, maxRunning);
      if (!job) return null;
      return { job, start: () => new JobRun(kind, job, lease.owner, deps, tenant) };
    },
  };
}

/** The error of a job stopped for lack of time on its last attempt. */
export function outOfTime(attempts: number): ApiError {
  return new ApiError(
    'QUERY_TIMEOUT',
    `the job did not finish within the worker's time limit in ${attempts} attempts; ask for a shorter timeout_seconds or split the query`,
    { reason: 'worker_time_limit', attempts },
  );
}
