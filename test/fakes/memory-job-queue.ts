/**
 * An in-memory job queue with the port's conditional semantics (claim within the tenant cap,
 * queue order, backoff and expiry, lease-guarded heartbeat and moves, lease expiry, events), held
 * to the job-queue contract (test/unit/fakes/memory-job-queue.test.ts), for unit tests of the
 * worker lifecycle without a database.
 */
import { ApiError } from '../../src/domain/errors.js';
import type { JobError } from '../../src/domain/query-job.js';
import type {
  JobQueueStore,
  QueuedJob,
  QueueEvent,
  QueueHead,
  TransitionGuard,
} from '../../src/state/port.js';

export type MemoryJobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface MemoryJob extends QueuedJob {
  state: MemoryJobState;
  /** Its place in the queue. */
  queuedAt: string;
  notBefore: string | null;
  expiresAt: string;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  rowsFetched: number;
  error: JobError | null;
}

const DAY = 86_400_000;

export class MemoryJobQueue implements JobQueueStore<MemoryJob> {
  private readonly jobs = new Map<string, MemoryJob>();
  private readonly listeners = new Set<(event: QueueEvent) => void>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new queued job, returned as stored (tests may change it behind the queue's back). */
  add(tenantId: string, jobId: string): MemoryJob {
    const at = new Date(this.now()).toISOString();
    this.insert({
      tenantId,
      jobId,
      attempts: 0,
      state: 'queued',
      queuedAt: at,
      notBefore: null,
      expiresAt: new Date(this.now() + DAY).toISOString(),
      leaseOwner: null,
      leaseExpiresAt: null,
      rowsFetched: 0,
      error: null,
    });
    return this.record(tenantId, jobId);
  }

  /** CONFLICT when the id exists. */
  async create(job: MemoryJob): Promise<void> {
    this.insert({ ...job });
  }

  /** Null when absent or expired. */
  async get(tenantId: string, jobId: string): Promise<MemoryJob | null> {
    const job = this.live(tenantId, jobId);
    return job ? { ...job } : null;
  }

  /** The stored job itself. */
  record(tenantId: string, jobId: string): MemoryJob {
    const job = this.jobs.get(key(tenantId, jobId));
    if (!job) throw new ApiError('NOT_FOUND', `no job ${jobId}`);
    return job;
  }

  /** Moves a job out of one of `from` (held by `guard.leaseOwner` when given); CONFLICT naming its state otherwise. */
  async transition(
    tenantId: string,
    jobId: string,
    from: readonly MemoryJobState[],
    patch: Partial<MemoryJob>,
    guard: TransitionGuard = {},
  ): Promise<MemoryJob> {
    const job = this.live(tenantId, jobId);
    if (!job) throw new ApiError('NOT_FOUND', `no job ${jobId}`);
    if (!from.includes(job.state))
      throw new ApiError('CONFLICT', `job is ${job.state}`, { state: job.state });
    if (guard.leaseOwner !== undefined && job.leaseOwner !== guard.leaseOwner)
      throw new ApiError('CONFLICT', 'the job is held by another worker', { state: job.state });
    const was = job.state;
    Object.assign(job, patch);
    if (job.state === 'queued' && was !== 'queued')
      this.publish({ type: 'queued', job: { tenantId, jobId } });
    if (was === 'running' && job.state === 'cancelled') this.publish({ type: 'cancelled', tenantId, jobId });
    return { ...job };
  }

  async heads(opts: { perTenant: number; maxTenants: number }): Promise<QueueHead[]> {
    const byTenant = new Map<string, QueueHead>();
    const claimable = [...this.jobs.values()]
      .filter((j) => this.claimable(j))
      .sort((a, b) => a.queuedAt.localeCompare(b.queuedAt) || a.jobId.localeCompare(b.jobId));
    for (const j of claimable) {
      const h = byTenant.get(j.tenantId) ?? {
        tenantId: j.tenantId,
        jobs: [],
        running: this.running(j.tenantId),
      };
      if (h.jobs.length < opts.perTenant) h.jobs.push({ jobId: j.jobId, submittedAt: j.queuedAt });
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
    const job = this.jobs.get(key(tenantId, jobId));
    if (!job || !this.claimable(job) || this.running(tenantId) >= maxRunning) return null;
    Object.assign(job, {
      state: 'running',
      attempts: job.attempts + 1,
      rowsFetched: 0,
      leaseOwner: lease.owner,
      leaseExpiresAt: new Date(this.now() + lease.ms).toISOString(),
    });
    return { ...job };
  }

  async heartbeat(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    progress: { rowsFetched: number },
  ): Promise<boolean> {
    const job = this.live(tenantId, jobId);
    if (job?.state !== 'running' || job.leaseOwner !== lease.owner) return false;
    job.leaseExpiresAt = new Date(this.now() + lease.ms).toISOString();
    job.rowsFetched = progress.rowsFetched;
    return true;
  }

  async requeueExpired(
    maxAttempts: number,
    limit: number,
  ): Promise<{ requeued: MemoryJob[]; failed: MemoryJob[] }> {
    const requeued: MemoryJob[] = [];
    const failed: MemoryJob[] = [];
    const lapsed = [...this.jobs.values()]
      .filter((j) => j.state === 'running' && Date.parse(j.leaseExpiresAt ?? '') < this.now())
      .slice(0, limit);
    for (const j of lapsed) {
      const out = j.attempts >= maxAttempts;
      Object.assign(j, {
        state: out ? 'failed' : 'queued',
        leaseOwner: null,
        leaseExpiresAt: null,
        error: out
          ? {
              code: 'MAX_ATTEMPTS_EXCEEDED',
              message: `the job was started ${j.attempts} times and its worker stopped each time; giving up`,
              details: { attempts: j.attempts },
            }
          : j.error,
      });
      (out ? failed : requeued).push({ ...j });
    }
    if (requeued.length > 0) this.publish({ type: 'queued' });
    return { requeued, failed };
  }

  async subscribe(onEvent: (event: QueueEvent) => void): Promise<() => Promise<void>> {
    this.listeners.add(onEvent);
    return async () => {
      this.listeners.delete(onEvent);
    };
  }

  private insert(job: MemoryJob): void {
    const k = key(job.tenantId, job.jobId);
    if (this.jobs.has(k)) throw new ApiError('CONFLICT', `job ${job.jobId} already exists`);
    this.jobs.set(k, job);
    if (job.state === 'queued')
      this.publish({ type: 'queued', job: { tenantId: job.tenantId, jobId: job.jobId } });
  }

  private live(tenantId: string, jobId: string): MemoryJob | undefined {
    const job = this.jobs.get(key(tenantId, jobId));
    return job && Date.parse(job.expiresAt) > this.now() ? job : undefined;
  }

  private claimable(job: MemoryJob): boolean {
    const now = this.now();
    return (
      job.state === 'queued' &&
      Date.parse(job.expiresAt) > now &&
      (job.notBefore === null || Date.parse(job.notBefore) <= now)
    );
  }

  private running(tenantId: string): number {
    return [...this.jobs.values()].filter((j) => j.tenantId === tenantId && j.state === 'running').length;
  }

  private publish(event: QueueEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

const key = (tenantId: string, jobId: string) => `${tenantId}/${jobId}`;
