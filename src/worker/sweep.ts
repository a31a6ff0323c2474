/**
 * The job work of a worker that is not a long-running loop (the Lambda worker function): run the
 * job a stream record names, and the scheduled sweep. Both use the queue's conditional claim with
 * the per-tenant cap and lease, then the kind's JobRun to the end — so a record delivered twice, or
 * a job another invocation took, runs once.
 *
 * Time: an invocation stops its runs `stopMarginMs` before it would be killed (`deadline`): the
 * job goes back to the queue, whose stream record starts another invocation (or FAILED once out of
 * attempts). With less than twice the margin left, nothing new is claimed.
 *
 * A job the stream could not start — its tenant was at its cap, or it waits out a retry backoff —
 * stays queued with no new stream record: the scheduled sweep finds it (`queue` task) and runs the
 * claimable jobs in fair order until none is left or time runs short. The sweep's other tasks
 * re-queue running jobs whose lease expired (`leases`; their invocation died) and run one retention
 * pass (`retention`).
 */
import { claimJob } from './claim-job.js';
import { claimOrder } from './claim-order.js';
import type { ClaimableKind, RunEnd, WorkerLog, WorkerMetrics } from './job-kind.js';
import { queueHeads } from './job-worker.js';
import { BULK_KIND } from './kinds/bulk.js';
import { QUERY_KIND } from './kinds/query.js';
import type { SweepCounts } from './retention-sweeper.js';

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

export interface WorkerJobsDeps {
  /** Every kind served; query jobs among them. */
  kinds: readonly ClaimableKind[];
  log: WorkerLog;
  /** Runs claimed at once by one sweep. */
  concurrency: number;
  /** RUNNING jobs per tenant across all workers. */
  tenantCap: (tenantId: string) => number;
  leaseMs: number;
  maxAttempts: number;
  metrics?: WorkerMetrics | undefined;
  /** One retention pass. */
  retention: () => Promise<SweepCounts>;
  /** Lease owner of this worker. */
  owner: string;
  /** Kept back at the end of an invocation to stop a run and record it. */
  stopMarginMs?: number;
}

/** Bulk job ids start with this (domain/bulk-job.ts `newBulkJobId`); query job ids with `job-`. */
const BULK_JOB_ID_PREFIX = 'bulk-';
const DEFAULT_STOP_MARGIN_MS = 15_000;
const REQUEUE_BATCH = 100;
/** Rounds of `requeueExpired` per sweep (each up to REQUEUE_BATCH jobs); the next sweep does the rest. */
const MAX_REQUEUE_ROUNDS = 10;

export function createJobSweep(deps: WorkerJobsDeps): WorkerJobs {
  const { log, tenantCap, leaseMs, maxAttempts, concurrency, owner } = deps;
  const kinds = new Map(deps.kinds.map((k) => [k.name, k]));
  const margin = deps.stopMarginMs ?? DEFAULT_STOP_MARGIN_MS;

  /** Epoch ms to stop runs at; undefined without a deadline; null when too late to start anything. */
  const stopAt = (deadline: Deadline | undefined): number | undefined | null => {
    if (!deadline) return undefined;
    const left = deadline.remainingMs();
    return left < 2 * margin ? null : Date.now() + left - margin;
  };

  const claim = (kind: ClaimableKind, tenantId: string, jobId: string) =>
    claimJob(kind, tenantId, jobId, { owner, leaseMs, maxRunning: tenantCap(tenantId) });

  const kindOf = (jobId: string): ClaimableKind => {
    const name = jobId.startsWith(BULK_JOB_ID_PREFIX) ? BULK_KIND : QUERY_KIND;
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
    if (recovered > 0) deps.metrics?.leaseRecovered(recovered);
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
    if (tasks.includes('retention')) report.retention = await deps.retention();
    if (tasks.includes('queue')) await drainQueue(report, deadline);
    return report;
  }

  return { runJob, sweep };
}
