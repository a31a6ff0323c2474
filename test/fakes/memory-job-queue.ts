/**
 * An in-memory job queue with the port's conditional semantics (claim within the tenant cap,
 * lease-guarded heartbeat and moves), for unit tests of the worker lifecycle without a database.
 */
import { ApiError } from '../../src/domain/errors.js';
import type { JobError } from '../../src/domain/query-job.js';
import type { JobQueueStore, QueuedJob, QueueHead } from '../../src/state/port.js';

export type MemoryJobState = 'queued' | 'running' | 'done' | 'failed';

export interface MemoryJob extends QueuedJob {
  state: MemoryJobState;
  submittedAt: string;
  notBefore: number;
  leaseOwner: string | null;
  leaseExpiresAt: number;
  rowsFetched: number;
  error?: JobError;
}

export class MemoryJobQueue implements JobQueueStore<MemoryJob> {
  readonly jobs = new Map<string, MemoryJob>();

  constructor(private readonly now: () => number = Date.now) {}

  add(tenantId: string, jobId: string): MemoryJob {
    const job: MemoryJob = {
      tenantId,
      jobId,
      attempts: 0,
      state: 'queued',
      submittedAt: new Date(this.now()).toISOString(),
      notBefore: 0,
      leaseOwner: null,
      leaseExpiresAt: 0,
      rowsFetched: 0,
    };
    this.jobs.set(`${tenantId}/${jobId}`, job);
    return job;
  }

  get(tenantId: string, jobId: string): MemoryJob {
    const job = this.jobs.get(`${tenantId}/${jobId}`);
    if (!job) throw new ApiError('NOT_FOUND', `no job ${jobId}`);
    return job;
  }

  /** Moves a job out of `from` when `guard.leaseOwner` holds its lease; CONFLICT otherwise. */
  async transition(
    tenantId: string,
    jobId: string,
    from: MemoryJobState,
    patch: Partial<MemoryJob>,
    guard: { leaseOwner: string },
  ): Promise<MemoryJob> {
    const job = this.get(tenantId, jobId);
    if (job.state !== from || job.leaseOwner !== guard.leaseOwner)
      throw new ApiError('CONFLICT', 'job moved meanwhile', { state: job.state });
    Object.assign(job, patch);
    return { ...job };
  }

  private running(tenantId: string): number {
    return [...this.jobs.values()].filter((j) => j.tenantId === tenantId && j.state === 'running').length;
  }

  async heads(opts: { perTenant: number; maxTenants: number }): Promise<QueueHead[]> {
    const byTenant = new Map<string, QueueHead>();
    for (const j of this.jobs.values()) {
      if (j.state !== 'queued' || j.notBefore > this.now()) continue;
      const h = byTenant.get(j.tenantId) ?? {
        tenantId: j.tenantId,
        jobs: [],
        running: this.running(j.tenantId),
      };
      if (h.jobs.length < opts.perTenant) h.jobs.push({ jobId: j.jobId, submittedAt: j.submittedAt });
      byTenant.set(j.tenantId, h);
    }
    return [...byTenant.values()].slice(0, opts.maxTenants);
  }

  async claim(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    maxRunning: number,
  ): Promise<MemoryJob | null> {
    const job = this.jobs.get(`${tenantId}/${jobId}`);
    if (job?.state !== 'queued' || job.notBefore > this.now()) return null;
    if (this.running(tenantId) >= maxRunning) return null;
    Object.assign(job, {
      state: 'running',
      attempts: job.attempts + 1,
      leaseOwner: lease.owner,
      leaseExpiresAt: this.now() + lease.ms,
    });
    return { ...job };
  }

  async heartbeat(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    progress: { rowsFetched: number },
  ): Promise<boolean> {
    const job = this.jobs.get(`${tenantId}/${jobId}`);
    if (job?.state !== 'running' || job.leaseOwner !== lease.owner) return false;
    job.leaseExpiresAt = this.now() + lease.ms;
    job.rowsFetched = progress.rowsFetched;
    return true;
  }

  async requeueExpired(maxAttempts: number): Promise<{ requeued: MemoryJob[]; failed: MemoryJob[] }> {
    const requeued: MemoryJob[] = [];
    const failed: MemoryJob[] = [];
    for (const j of this.jobs.values()) {
      if (j.state !== 'running' || j.leaseExpiresAt > this.now()) continue;
      const out = j.attempts >= maxAttempts;
      Object.assign(j, { state: out ? 'failed' : 'queued', leaseOwner: null, leaseExpiresAt: 0 });
      (out ? failed : requeued).push({ ...j });
    }
    return { requeued, failed };
  }

  async subscribe(): Promise<() => Promise<void>> {
    return async () => {};
  }
}
