/**
 * Fair claim order. Each pick goes to the tenant with the fewest RUNNING jobs (counting the picks
 * already made), ties broken by whose oldest waiting job is older; a tenant at its cap is skipped.
 * So a tenant with 1,000 queued jobs cannot starve one with a single job: the latter has fewer
 * running jobs and wins the next free slot. Pure: the worker claims in this order.
 */
import type { QueueHead } from '../state/port.js';

export interface ClaimCandidate {
  tenantId: string;
  jobId: string;
  /** The job kind whose queue it is in, when the heads said. */
  kind?: string;
}

export function claimOrder(
  heads: readonly QueueHead[],
  slots: number,
  tenantCap: (tenantId: string) => number,
): ClaimCandidate[] {
  const queues = heads.map((h) => ({
    tenantId: h.tenantId,
    running: h.running,
    cap: tenantCap(h.tenantId),
    jobs: [...h.jobs],
  }));
  const out: ClaimCandidate[] = [];
  while (out.length < slots) {
    let best: (typeof queues)[number] | undefined;
    for (const q of queues) {
      if (q.jobs.length === 0 || q.running >= q.cap) continue;
      if (
        !best ||
        q.running < best.running ||
        (q.running === best.running && q.jobs[0]!.submittedAt < best.jobs[0]!.submittedAt)
      ) {
        best = q;
      }
    }
    if (!best) break;
    const job = best.jobs.shift()!;
    best.running++;
    out.push({ tenantId: best.tenantId, jobId: job.jobId, ...(job.kind ? { kind: job.kind } : {}) });
  }
  return out;
}
