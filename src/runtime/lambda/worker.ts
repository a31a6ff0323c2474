/**
 * Worker function. Two kinds of events:
 *
 * DynamoDB Streams batches from the jobs and bulk-jobs tables. A record whose new
 * image makes a job runnable (src/state/dynamodb/table-design.ts WORKER_TRIGGERS: a QUEUED query job, an
 * UploadComplete bulk job) is run through `RunJob`; everything else is skipped: TTL deletions
 * (`userIdentity` dynamodb.amazonaws.com; DynamoDB Local reports them as UNKNOWN_TO_SDK_VERSION),
 * REMOVEs, and changes that do not make a job runnable. A record whose run throws is reported in
 * `batchItemFailures`, so Lambda retries from it (then bisects, then sends it to the DLQ).
 *
 * `RunJob` must claim the job with a conditional update and do nothing when the claim is lost: the
 * stream delivers at least once, and a retried batch repeats records that already ran. The real one
 * (`createWorkerJobs`, over src/worker/sweep.ts) runs the job with the Node worker's runners within
 * the invocation's remaining time.
 *
 * Scheduled sweeps from EventBridge (`{"sweep": ["leases", "queue"]}`, `{"sweep": ["retention"]}`;
 * a plain "Scheduled Event" does every task): expired leases re-queued, claimable jobs the stream
 * could not start (tenant at its cap, retry backoff) run, one retention pass.
 */
import os from 'node:os';
import type { LambdaContext } from 'hono/aws-lambda';
import { JOB_KEY_ATTRIBUTES, WORKER_TRIGGERS } from '../../state/dynamodb/table-design.js';
import { claimableQueryKind } from '../../worker/kinds/query.js';
import {
  createJobSweep,
  type Deadline,
  SWEEP_TASKS,
  type SweepReport,
  type SweepTask,
  type WorkerJobs,
} from '../../worker/sweep.js';
import { jobWorkerOptions, retentionSweeper, type WorkerCore } from '../worker.js';
import { once } from './environment.js';
import { METRIC, SERVICE_NAMES } from './metric-names.js';
import { annotateJob, createTelemetry, invocation, recordMetric, type Telemetry } from './observability.js';
import { openLambdaPorts } from './ports.js';

/** What a run ended as; `undefined` when the job was not ours to run (claim lost, already finished). */
export type RunJobOutcome = { status: 'COMPLETED' | 'FAILED' | 'CANCELLED' | string } | undefined;

/** Claims and runs one job within `deadline`; throws only when the attempt should be retried. */
export type RunJob = (
  tenantId: string,
  jobId: string,
  deadline?: Deadline,
) => Promise<RunJobOutcome | undefined>;

/** DynamoDB attribute values as they appear in stream images (only the shapes read here). */
export type StreamAttributeValue = { S?: string; N?: string; BOOL?: boolean; NULL?: boolean } & Record<
  string,
  unknown
>;

export interface DynamoDBStreamRecord {
  eventID?: string;
  eventName?: 'INSERT' | 'MODIFY' | 'REMOVE' | string;
  eventSourceARN?: string;
  userIdentity?: { type?: string; principalId?: string } | null;
  dynamodb?: {
    SequenceNumber?: string;
    NewImage?: Record<string, StreamAttributeValue>;
    OldImage?: Record<string, StreamAttributeValue>;
  };
}

export interface DynamoDBStreamEvent {
  Records: DynamoDBStreamRecord[];
}

export interface DynamoDBBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export interface RunnableJob {
  tenantId: string;
  jobId: string;
}

export type SkipReason = 'ttl-deletion' | 'not-an-insert-or-modify' | 'not-runnable' | 'no-job-key';

/** A stream record → the job it makes runnable, or why it is skipped. Pure. */
export function runnableJob(record: DynamoDBStreamRecord): RunnableJob | { skip: SkipReason } {
  if (record.userIdentity?.principalId === 'dynamodb.amazonaws.com') return { skip: 'ttl-deletion' };
  if (record.eventName !== 'INSERT' && record.eventName !== 'MODIFY')
    return { skip: 'not-an-insert-or-modify' };
  const next = record.dynamodb?.NewImage;
  const prev = record.eventName === 'MODIFY' ? record.dynamodb?.OldImage : undefined;
  const becameRunnable = WORKER_TRIGGERS.some(
    (t) => next?.[t.attribute]?.S === t.value && prev?.[t.attribute]?.S !== t.value,
  );
  if (!becameRunnable) return { skip: 'not-runnable' };
  const tenantId = next?.[JOB_KEY_ATTRIBUTES.tenantId]?.S;
  const jobId = next?.[JOB_KEY_ATTRIBUTES.jobId]?.S;
  if (!tenantId || !jobId) return { skip: 'no-job-key' };
  return { tenantId, jobId };
}

export interface StreamWorkerOptions {
  /** The container's job runner, built once. */
  runJob: () => Promise<RunJob>;
  telemetry?: Telemetry;
}

export function createStreamWorker(options: StreamWorkerOptions) {
  const telemetry = options.telemetry ?? createTelemetry(SERVICE_NAMES.worker);
  return async function streamWorker(
    event: DynamoDBStreamEvent,
    context?: LambdaContext,
  ): Promise<DynamoDBBatchResponse> {
    return invocation(telemetry, context, async () => {
      const work: { record: DynamoDBStreamRecord; job: RunnableJob }[] = [];
      for (const record of event.Records) {
        const job = runnableJob(record);
        if ('skip' in job) {
          recordMetric(telemetry, METRIC.recordsSkipped, null);
          telemetry.logger.debug('stream record skipped', { reason: job.skip, event_id: record.eventID });
        } else {
          work.push({ record, job });
        }
      }
      if (work.length === 0) return { batchItemFailures: [] };

      const runJob = await options.runJob();
      const deadline = deadlineOf(context);
      const failed: string[] = [];
      await Promise.all(
        work.map(async ({ record, job }) => {
          const log = { tenant_id: job.tenantId, job_id: job.jobId };
          annotateJob(telemetry, job.jobId);
          try {
            const outcome = await runJob(job.tenantId, job.jobId, deadline);
            recordOutcome(telemetry, job.tenantId, outcome?.status);
            telemetry.logger.info('job run', { ...log, status: outcome?.status ?? 'not claimed' });
          } catch (error) {
            recordMetric(telemetry, METRIC.jobRunErrors, job.tenantId);
            telemetry.logger.error('job run failed; the record will be retried', {
              ...log,
              error: error as Error,
            });
            // Without a sequence number Lambda cannot checkpoint: fail the whole batch instead.
            const id = record.dynamodb?.SequenceNumber;
            if (!id) throw error;
            failed.push(id);
          }
        }),
      );
      return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
    });
  };
}

function recordOutcome(telemetry: Telemetry, tenantId: string, status: string | undefined): void {
  if (status === 'FAILED') recordMetric(telemetry, METRIC.jobsFailed, tenantId);
  else if (status === 'COMPLETED') recordMetric(telemetry, METRIC.jobsCompleted, tenantId);
  else if (status === 'REQUEUED') recordMetric(telemetry, METRIC.jobsRequeued, tenantId);
}

function deadlineOf(context: LambdaContext | undefined): Deadline | undefined {
  const remaining = (context as { getRemainingTimeInMillis?: () => number } | undefined)
    ?.getRemainingTimeInMillis;
  return typeof remaining === 'function' ? { remainingMs: () => remaining.call(context) } : undefined;
}

/** What the sweep rules send; a plain EventBridge "Scheduled Event" means every task. */
export interface SweepEvent {
  sweep: SweepTask[];
}

export interface ScheduledEvent {
  source: string;
  'detail-type': string;
}

/** The sweep tasks an event asks for; null when it is not a sweep event. */
export function sweepTasksOf(event: unknown): SweepTask[] | null {
  if (typeof event !== 'object' || event === null) return null;
  const e = event as Partial<SweepEvent & ScheduledEvent>;
  if (Array.isArray(e.sweep)) return SWEEP_TASKS.filter((t) => e.sweep!.includes(t));
  if (e.source === 'aws.events' && e['detail-type'] === 'Scheduled Event') return [...SWEEP_TASKS];
  return null;
}

export interface WorkerHandlerOptions {
  /** The container's job runner and sweep, built once. */
  jobs: () => Promise<WorkerJobs>;
  telemetry?: Telemetry;
}

/** The worker function: stream batches run jobs, sweep events sweep. */
export function createWorkerHandler(options: WorkerHandlerOptions) {
  const telemetry = options.telemetry ?? createTelemetry(SERVICE_NAMES.worker);
  const stream = createStreamWorker({
    runJob: async () => (await options.jobs()).runJob,
    telemetry,
  });
  async function sweep(tasks: SweepTask[], context?: LambdaContext): Promise<SweepReport> {
    return invocation(telemetry, context, async () => {
      const jobs = await options.jobs();
      const report = await jobs.sweep(tasks, deadlineOf(context));
      if (report.requeued + report.expiredFailed > 0)
        recordMetric(telemetry, METRIC.leasesRecovered, null, report.requeued + report.expiredFailed);
      for (const run of report.ran) recordOutcome(telemetry, run.tenantId, run.end);
      telemetry.logger.info('sweep', {
        tasks,
        requeued: report.requeued,
        expired_failed: report.expiredFailed,
        retention: report.retention,
        ran: report.ran.length,
      });
      return report;
    });
  }
  return async function workerHandler(
    event: DynamoDBStreamEvent | SweepEvent | ScheduledEvent,
    context?: LambdaContext,
  ): Promise<DynamoDBBatchResponse | SweepReport> {
    const tasks = sweepTasksOf(event);
    if (tasks) return sweep(tasks, context);
    return stream(event as DynamoDBStreamEvent, context);
  };
}

export interface WorkerJobsOptions {
  /** Kept back at the end of an invocation to stop a run and record it. */
  stopMarginMs?: number;
  /** Lease owner; unique per container by default. */
  owner?: string;
}

/** The container's job runner and sweep over `core`: the Node worker's kinds and settings. */
export function createWorkerJobs(core: WorkerCore, options: WorkerJobsOptions = {}): WorkerJobs {
  const opts = jobWorkerOptions(core);
  return createJobSweep({
    kinds: [claimableQueryKind(opts), ...(opts.kinds ?? [])],
    log: opts.log,
    concurrency: opts.concurrency,
    tenantCap: opts.tenantCap,
    leaseMs: opts.leaseMs,
    maxAttempts: opts.maxAttempts,
    metrics: opts.metrics,
    retention: () => retentionSweeper(core).sweepOnce(),
    owner:
      options.owner ??
      `lambda:${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? os.hostname()}:${crypto.randomUUID().slice(0, 8)}`,
    ...(options.stopMarginMs !== undefined ? { stopMarginMs: options.stopMarginMs } : {}),
  });
}

const workerTelemetry = createTelemetry(SERVICE_NAMES.worker);

/** The ports alone: no audit writer or audit retention sweep, whose grant the worker's role lacks (infra/lib/functions.ts). */
export const handler = createWorkerHandler({
  jobs: once(async () => createWorkerJobs(await openLambdaPorts(workerTelemetry.tracer))),
  telemetry: workerTelemetry,
});
