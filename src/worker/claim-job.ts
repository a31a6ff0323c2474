/**
 * One job claimed and run to its end outside JobWorker's loop: the unit of work of the Lambda
 * worker, where a stream record names the job (or the scheduled sweep picks it in fair order). The
 * claim is the queue's conditional one, so a job delivered twice, or claimed meanwhile by another
 * invocation or a JobWorker, runs once, and a tenant at its cap keeps its job QUEUED.
 */
import type { QueuedJob } from '../state/port.js';
import type { ClaimableKind, RunEnd } from './job-kind.js';

export interface ClaimOptions {
  /** Lease owner of this worker. */
  owner: string;
  leaseMs: number;
  /** RUNNING jobs the tenant may have: the claim fails at this count. */
  maxRunning: number;
}

/** A job this worker has claimed: run it once. */
export interface ClaimedJob {
  job: QueuedJob;
  /**
   * Runs it to the end. `stopAt` (epoch ms): the run must have let go of the job by then; it is
   * stopped (`deadline`) and goes back to the queue for another worker, or fails once it is out of
   * attempts.
   */
  run(stopAt?: number): Promise<RunEnd>;
}

/** Claims a job; null when the claim was lost (taken, the tenant at its cap, not claimable). */
export async function claimJob(
  kind: ClaimableKind,
  tenantId: string,
  jobId: string,
  opts: ClaimOptions,
): Promise<ClaimedJob | null> {
  const claimed = await kind.claim(tenantId, jobId, { owner: opts.owner, ms: opts.leaseMs }, opts.maxRunning);
  if (!claimed) return null;
  return {
    job: claimed.job,
    run: async (stopAt) => {
      const runner = claimed.start();
      const timer =
        stopAt === undefined
          ? undefined
          : setTimeout(() => runner.stop('deadline'), Math.max(0, stopAt - Date.now()));
      try {
        return await runner.run();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
