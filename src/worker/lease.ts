/**
 * Keeps a claimed job's lease: renews it (with the job's progress) at least every second and at a
 * third of the lease, and reports when the job is no longer ours — the renewal found it moved
 * (cancelled, re-queued after the lease lapsed), or the store stayed unreachable past the lease.
 */
import type { JobQueueStore, QueuedJob } from '../state/port.js';

/** Progress is written with each heartbeat; heartbeats are at least this frequent. */
const MAX_HEARTBEAT_INTERVAL_MS = 1000;

export interface LeaseKeeping {
  queue: JobQueueStore<QueuedJob>;
  job: Pick<QueuedJob, 'tenantId' | 'jobId'>;
  lease: { owner: string; ms: number };
  progress: () => { rowsFetched: number; rowsFailed?: number };
  onLost: () => void;
  onRenewed?: () => void;
}

/** Starts renewing; returns the function that stops it. */
export function keepLease(k: LeaseKeeping): () => void {
  let lastRenewal = Date.now();
  const timer = setInterval(
    () => {
      k.queue.heartbeat(k.job.tenantId, k.job.jobId, k.lease, k.progress()).then(
        (held) => {
          if (held) {
            lastRenewal = Date.now();
            k.onRenewed?.();
          } else k.onLost();
        },
        () => {
          // The state store is unreachable: keep running while the lease may still be ours.
          if (Date.now() - lastRenewal > k.lease.ms) k.onLost();
        },
      );
    },
    Math.min(MAX_HEARTBEAT_INTERVAL_MS, Math.max(50, Math.floor(k.lease.ms / 3))),
  );
  return () => clearInterval(timer);
}
