/**
 * What the worker function does with jobs, built once per container from the shared core: run the
 * job a stream record names, and the scheduled sweep. Both use the Node worker's pieces
 * (src/worker): the queue's conditional claim with the configured per-tenant cap and lease, then
 * JobRun / BulkJobRun to the end — so a record delivered twice, or a job another invocation took,
 * runs once.
 *
 * Time: an invocation stops its runs `stopMarginMs` before Lambda would kill it (`deadline`): the
 * job goes back to QUEUED, whose stream record starts another invocation (or FAILED once out of
 * attempts). With less than twice the margin left, nothing new is claimed.
 *
 * A job the stream could not start — its tenant was at its cap, or it waits out a retry backoff —
 * stays QUEUED with no new stream record: the scheduled sweep finds it (`queue` task) and runs the
 * claimable jobs in fair order until none is left or time runs short. The sweep's other tasks
 * re-queue RUNNING jobs whose lease expired (`leases`; their invocation died) and run one retention
 * pass (`retention`).
 */
import os from 'node:os';
import {
  claimJob,
  claimOrder,
  type JobKind,
  QUERY_KIND,
  queryJobKind,
  queueHeads,
  RetentionSweeper,
  type RunEnd,
  type SweepCounts,
} from '../../worker/index.js';
import type { Core } from '../core.js';
import { jobWorkerOptions } from '../worker.js';

/** Time left in the invocation (Lambda: `context.getRemainingTimeInMillis`). */
export interface Deadline {
  remainingMs(): number;
}

export type SweepTask = 'leases' | 'queue' | 'retention';
export const SWEEP_TASKS: readonly SweepTask[] = ['leases', 'queue', 'retention'];

export interface SweepReport {
  /** Jobs whose lease had expired: back to the queue, or FAILED out of attempts. */
  requeued: number;
  expiredFailed: number;
  retention: SweepCounts | null;
  /** Jobs the sweep claimed and ran, with how each ended. */
  ran: { tenantId: string; jobId: string; kind: string; end: RunEnd }[];
}

export interface WorkerJobs {
  /** Claims the job and runs it to the end; undefined when the claim was lost or time is too short to start. */
  runJob(tenantId: string, jobId: string, deadline?: Deadline): Promise<{ status: RunEnd } | undefined>;
  sweep(tasks: readonly SweepTask[], deadline?: Deadline): Promise<SweepReport>;
}

export interface WorkerJobsOptions {
  /** Kept back at the end of an invocation to stop a run and record it. */
  stopMarginMs?: number;
  /** Lease owner; unique per container by default. */
  owner?: string;
}

/** Bulk job ids start with this (domain/bulk-job.ts `newBulkJobId`); query job ids with `job-`. */
const BULK_JOB_ID_PREFIX = 'bulk-';
const DEFAULT_STOP_MARGIN_MS = 15_000;
const REQUEUE_BATCH = 100;
/** Rounds of `requeueExpired` per sweep (each up to REQUEUE_BATCH jobs); the next sweep does the rest. */
const MAX_REQUEUE_ROUNDS = 10;

export function createWorkerJobs(core: Core, options: WorkerJobsOptions = {}): WorkerJobs {
  const opts = jobWorkerOptions(core);
  const { log, tenantCap, leaseMs, maxAttempts, concurrency } = opts;
  const kinds = new Map<string, JobKind>(
    [queryJobKind(opts) as unknown as JobKind, ...(opts.kinds ?? [])].map((k) => [k.name, k]),
  );
  const owner =
    options.owner ??
    `lambda:${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? os.hostname()}:${crypto.randomUUID().slice(0, 8)}`;
  const margin = options.stopMarginMs ?? DEFAULT_STOP_MARGIN_MS;

  /** Epoch ms to stop runs at; undefined without a deadline; null when too late to start anything. */
  const stopAt = (deadline: Deadline | undefined): number | undefined | null => {
    if (!deadline) return undefined;
    const left = deadline.remainingMs();
    return left < 2 * margin ? null : Date.now() + left - margin;
  };

  const claim = (kind: JobKind, tenantId: string, jobId: string) =>
    claimJob(kind, tenantId, jobId, { owner, leaseMs, maxRunning: tenantCap(tenantId) });

  const kindOf = (jobId: string): JobKind => {
    const name = jobId.startsWith(BULK_JOB_ID_PREFIX) ? 'bulk' : QUERY_KIND;
    const kind = kinds.get(name);
    // Thrown, so the record is retried and ends in the DLQ (which alarms): a deployment mistake.
    if (!kind) throw new Error(`job ${jobId}: this state store keeps no ${name} jobs`);
    return kind;
  };

  async function runJob(tenantId: string, jobId: string, deadline?: Deadline) {
    const kind = kindOf(jobId);
    const until = stopAt(deadline);
    if (until === null) {
      log.warn({ job_id: jobId, tenant_id: tenantId }, 'too little time left to start; the sweep runs it');
      return undefined;
    }
    const claimed = await claim(kind, tenantId, jobId);
    if (!claimed) return undefined;
    return { status: await claimed.run(until) };
  }

  async function requeueExpired(report: SweepReport): Promise<void> {
    for (const kind of kinds.values()) {
      for (let round = 0; round < MAX_REQUEUE_ROUNDS; round++) {
        const { requeued, failed } = await kind.queue.requeueExpired(maxAttempts, REQUEUE_BATCH);
        report.requeued += requeued.length;
        report.expiredFailed += failed.length;
        for (const j of requeued)
          log.warn(
            { job_id: j.jobId, attempts: j.attempts, kind: kind.name },
            'lease expired; job re-queued',
          );
        for (const j of failed)
          log.warn(
            { job_id: j.jobId, attempts: j.attempts, kind: kind.name },
            'lease expired; out of attempts',
          );
        if (requeued.length + failed.length < REQUEUE_BATCH) break;
      }
    }
    const recovered = report.requeued + report.expiredFailed;
    if (recovered > 0) opts.metrics?.leaseRecovered(recovered);
  }

  /** Claims claimable jobs in fair order, `concurrency` at a time, until none is left or time runs short. */
  async function drainQueue(report: SweepReport, deadline: Deadline | undefined): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const all = [...kinds.values()];
    for (;;) {
      const until = stopAt(deadline);
      if (until === null) break;
      const free = concurrency - inFlight.size;
      if (free > 0) {
        for (const pick of claimOrder(await queueHeads(all, free), free, tenantCap)) {
          const kind = kinds.get(pick.kind ?? QUERY_KIND)!;
          const claimed = await claim(kind, pick.tenantId, pick.jobId);
          if (!claimed) continue;
          const done: Promise<void> = claimed
            .run(until)
            .then((end) => {
              report.ran.push({ tenantId: pick.tenantId, jobId: pick.jobId, kind: kind.name, end });
            })
            .finally(() => inFlight.delete(done));
          inFlight.add(done);
        }
      }
      // Nothing running means nothing was claimable: done. Otherwise look again when a slot frees.
      if (inFlight.size === 0) break;
      await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  }

  async function sweep(tasks: readonly SweepTask[], deadline?: Deadline): Promise<SweepReport> {
    const report: SweepReport = { requeued: 0, expiredFailed: 0, retention: null, ran: [] };
    if (tasks.includes('leases')) await requeueExpired(report);
    if (tasks.includes('retention')) {
      const sweeper = new RetentionSweeper({
        state: core.state,
        results: core.results,
        log: core.log.child({ component: 'retention' }),
        intervalMs: core.config.retentionSweepIntervalSeconds * 1000,
      });
      report.retention = await sweeper.sweepOnce();
    }
    if (tasks.includes('queue')) await drainQueue(report, deadline);
    return report;
  }

  return { runJob, sweep };
}
