/**
 * A kind of job the worker claims and runs (query jobs, bulk jobs): its queue, its state moves
 * and the body that runs. JobRun (job-run.ts) owns what every kind shares — tenant check, lease,
 * stop, failure classification, requeue and the guarded final move — so a new kind is one file
 * in kinds/ that implements this interface.
 */
import type { JobError } from '../domain/query-job.js';
import type { JobQueueStore, QueuedJob } from '../state/port.js';

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

/** What the worker reports to the metrics registry. */
export interface WorkerMetrics {
  leaseRenewed(): void;
  leaseRecovered(count: number): void;
  resultBytesStored(bytes: number): void;
  jobFinished(kind: 'query' | 'bulk', mode: 'sync' | 'async', status: string): void;
}

/** The lease condition every move out of the running state carries. */
export interface LeaseGuard {
  leaseOwner: string;
}

/** What a kind's body sees of its run. */
export interface JobExecution<P> {
  /** Aborted when the run is stopped (cancelled, lease lost, shutdown, deadline). */
  signal: AbortSignal;
  guard: LeaseGuard;
  /** The run's counters, written with each lease renewal. */
  progress: P;
  /** `performance.now()` when the run started. */
  startedAt: number;
  /** Records the statement reference (so any process can cancel it); a conflict stops the run as lost. */
  onStatement(ref: string): void;
  /** Resolves once the last statement reference is recorded (or refused). */
  statementRecorded(): Promise<unknown>;
  /** Throws the stop reason when the run was stopped. */
  throwIfStopped(): void;
}

/** Everything about one kind of job that is not the shared lifecycle. */
export interface JobKind<J extends QueuedJob, R, P> {
  /** The kind's name in queue heads and logs (`query`, `bulk`). */
  name: string;
  /** How log lines name one of its jobs (`job`, `bulk job`). */
  noun: string;
  queue: JobQueueStore<J>;
  /** The FORBIDDEN message when the job's tenant is suspended or deleted. */
  inactiveTenantMessage: string;
  newProgress(): P;
  /** The progress a lease renewal writes. */
  heartbeat(progress: P): { rowsFetched: number; rowsFailed?: number };
  /** Runs the job's body; what it returns is recorded by `complete`. Cleans up its own partial output. */
  execute(job: J, run: JobExecution<P>): Promise<R>;
  /** The guarded move to the completed state, then whatever follows it (earlier attempts' files, log). */
  complete(job: J, result: R, run: JobExecution<P>): Promise<void>;
  /** The guarded move back to the queued state, claimable from `notBefore`. */
  requeue(job: J, notBefore: string, guard: LeaseGuard): Promise<void>;
  /** The guarded move to the failed state with `error`. */
  fail(job: J, error: JobError, run: JobExecution<P>): Promise<void>;
  /** The state move that records a statement reference. */
  recordStatement(job: J, ref: string, guard: LeaseGuard): Promise<unknown>;
  /** Adds the kind's own details of `cause` to the error a failed job records. */
  jobError?(jobError: JobError, cause: unknown): JobError;
}

/** One claimed job being run. */
export interface JobRunner {
  run(): Promise<RunEnd>;
  stop(reason: StopReason): void;
}

/** A job claimed from a kind's queue, with the run that takes it to its end. */
export interface Claimed {
  job: QueuedJob;
  start(): JobRunner;
}

/**
 * A kind as the worker loop and the sweep see it: the queue operations that do not depend on the
 * job's type, and a claim that hands back a ready run (so the job's type never leaves its kind).
 */
export interface ClaimableKind {
  name: string;
  queue: Pick<JobQueueStore<QueuedJob>, 'heads' | 'requeueExpired' | 'subscribe'>;
  claim(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    maxRunning: number,
  ): Promise<Claimed | null>;
}
