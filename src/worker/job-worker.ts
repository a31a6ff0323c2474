/**
 * The job worker of one process: up to `concurrency` jobs at a time, claimed in fair order
 * (claim-order.ts) with a conditional update only one process can win. It wakes on queue events
 * (PostgreSQL LISTEN/NOTIFY), on a periodic scan as fallback, and whenever a slot frees up; it
 * re-queues jobs whose worker died (expired leases) and stops runs cancelled from any process.
 *
 * It serves several job kinds through the same loop: query jobs always, and any `kinds` given
 * (bulk jobs): each kind is a queue (the same JobQueueStore contract) and a way to run a job.
 * Slots, the fair order and the per-tenant cap are shared by all kinds.
 */
import os from 'node:os';
import type { QueuedJob, QueueHead, StateStore } from '../state/port.js';
import type { ResultStore } from '../storage/port.js';
import type { Warehouse } from '../warehouse/port.js';
import { claimOrder } from './claim-order.js';
import type { ClaimableKind, Claimed, JobRunner, WorkerLog, WorkerMetrics } from './job-kind.js';
import { claimableQueryKind, QUERY_KIND } from './kinds/query.js';

export interface JobWorkerOptions {
  state: StateStore;
  warehouse: Warehouse;
  results: ResultStore;
  log: WorkerLog;
  /** Jobs this process runs at once (the global per-process cap). */
  concurrency: number;
  /** RUNNING jobs per tenant across all workers. */
  tenantCap: (tenantId: string) => number;
  leaseMs: number;
  maxAttempts: number;
  /** Fallback scan period when no queue event arrives. */
  pollIntervalMs: number;
  /** First retry delay after a transient failure (doubles per attempt). */
  retryBaseMs: number;
  resultTtlMs: number;
  /** Rows per row group of a job's Parquet file (SPECTRA_BULK_PARQUET_ROW_GROUP_ROWS). */
  parquetRowGroupRows: number;
  /** Identifies this worker in leases; unique per process by default. */
  owner?: string;
  /** Worker metrics (lease renewals and recoveries, result bytes); absent when metrics are off. */
  metrics?: WorkerMetrics | undefined;
  /** Called for every job this worker claims (metrics, tests). */
  onClaim?: (job: QueuedJob) => void;
  /** Job kinds served besides query jobs (e.g. bulk jobs). */
  kinds?: ClaimableKind[];
}

/** A job a queue event named, and the kind whose queue it is in. */
interface NamedJob {
  kind: ClaimableKind;
  tenantId: string;
  jobId: string;
}

/** Expired leases are looked for at this fraction of the lease. */
const REQUEUE_CHECK_FRACTION = 0.5;
/** How many tenants a scan considers. */
const MAX_TENANTS_PER_SCAN = 1000;

export class JobWorker {
  readonly owner: string;
  private readonly runs = new Map<string, JobRunner>();
  private readonly finished = new Set<Promise<void>>();
  private readonly kinds: Map<string, ClaimableKind>;
  private unsubscribes: (() => Promise<void>)[] = [];
  private timers: NodeJS.Timeout[] = [];
  private scanning = false;
  private rescan = false;
  private stopping = false;
  /** Claims made by this worker (tests count them across processes). */
  claims = 0;

  constructor(private readonly opts: JobWorkerOptions) {
    this.owner = opts.owner ?? `${os.hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
    this.kinds = new Map([claimableQueryKind(opts), ...(opts.kinds ?? [])].map((k) => [k.name, k]));
  }

  get running(): number {
    return this.runs.size;
  }

  async start(): Promise<void> {
    const { log } = this.opts;
    for (const kind of this.kinds.values()) {
      this.unsubscribes.push(
        await kind.queue.subscribe((event) => {
          if (event.type === 'queued') this.wake(event.job && { kind, ...event.job });
          else this.runs.get(`${event.tenantId}/${event.jobId}`)?.stop('cancelled');
        }),
      );
    }
    this.timers.push(setInterval(() => this.wake(), this.opts.pollIntervalMs));
    this.timers.push(
      setInterval(
        () => void this.requeueExpired(),
        Math.max(100, Math.floor(this.opts.leaseMs * REQUEUE_CHECK_FRACTION)),
      ),
    );
    for (const t of this.timers) t.unref();
    log.info({ owner: this.owner, concurrency: this.opts.concurrency }, 'job worker started');
    void this.requeueExpired();
    this.wake();
  }

  /**
   * Looks for claimable jobs now (coalesces concurrent calls into one more scan). A `named` job (the
   * one a queue event announced) is claimed directly when no scan is under way and a slot is free:
   * the last scan then found nothing else claimable (a job whose backoff has ended since waits for
   * the periodic scan, as it would without events), so it is the job a scan would pick, and the
   * queue heads' read (a round trip and a plan of the loose index scan) is off its critical path.
   * Any other event while it is claimed, or a claim it loses, makes a scan follow.
   */
  wake(named?: NamedJob): void {
    if (this.stopping) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = true;
    void this.scanLoop(named);
  }

  private async scanLoop(named?: NamedJob): Promise<void> {
    try {
      this.rescan = false;
      if (!named || !(await this.claimNamed(named))) this.rescan = true;
      while (this.rescan && !this.stopping && this.runs.size < this.opts.concurrency) {
        this.rescan = false;
        await this.scanOnce();
      }
    } catch (e) {
      this.opts.log.warn({ err: e }, 'job scan failed; retrying on the next poll');
    } finally {
      this.scanning = false;
    }
  }

  /** Claims the job a queue event named; false when there was no slot or the claim was lost (scan instead). */
  private async claimNamed({ kind, tenantId, jobId }: NamedJob): Promise<boolean> {
    if (this.stopping || this.runs.size >= this.opts.concurrency) return false;
    return this.claimAndLaunch(kind, tenantId, jobId);
  }

  /** Claims one job under this worker's lease and the tenant's cap and starts it; false when the claim was lost. */
  private async claimAndLaunch(kind: ClaimableKind, tenantId: string, jobId: string): Promise<boolean> {
    const { tenantCap, leaseMs } = this.opts;
    const won = await kind.claim(tenantId, jobId, { owner: this.owner, ms: leaseMs }, tenantCap(tenantId));
    if (won) this.launch(kind, won);
    return won !== null;
  }

  private async scanOnce(): Promise<void> {
    const { concurrency, tenantCap } = this.opts;
    const free = concurrency - this.runs.size;
    if (free <= 0) return;
    const heads = await queueHeads([...this.kinds.values()], free);
    if (heads.length === 0) return;
    let claimed = 0;
    for (const candidate of claimOrder(heads, free, tenantCap)) {
      if (this.stopping || this.runs.size >= concurrency) break;
      const kind = this.kinds.get(candidate.kind ?? QUERY_KIND)!;
      if (!(await this.claimAndLaunch(kind, candidate.tenantId, candidate.jobId))) {
        // Another worker won it, or the tenant reached its cap meanwhile: look again.
        this.rescan = true;
        continue;
      }
      claimed++;
    }
    // A full batch may mean more is waiting.
    if (claimed > 0 && claimed === free) this.rescan = true;
  }

  private launch(kind: ClaimableKind, { job, start }: Claimed): void {
    this.claims++;
    this.opts.onClaim?.(job);
    this.opts.log.info(
      {
        job_id: job.jobId,
        tenant_id: job.tenantId,
        attempt: job.attempts,
        owner: this.owner,
        kind: kind.name,
      },
      'job claimed',
    );
    const run = start();
    const id = `${job.tenantId}/${job.jobId}`;
    this.runs.set(id, run);
    const done: Promise<void> = run
      .run()
      .then(() => {})
      .catch((e) => this.opts.log.error({ err: e, job_id: job.jobId }, 'job run crashed'))
      .finally(() => {
        this.runs.delete(id);
        this.finished.delete(done);
        this.wake();
      });
    this.finished.add(done);
  }

  private async requeueExpired(): Promise<void> {
    if (this.stopping) return;
    for (const kind of this.kinds.values()) {
      try {
        const { requeued, failed } = await kind.queue.requeueExpired(this.opts.maxAttempts, 100);
        if (requeued.length + failed.length > 0)
          this.opts.metrics?.leaseRecovered(requeued.length + failed.length);
        for (const j of requeued)
          this.opts.log.warn({ job_id: j.jobId, attempts: j.attempts }, 'lease expired; job re-queued');
        for (const j of failed)
          this.opts.log.warn({ job_id: j.jobId, attempts: j.attempts }, 'lease expired; out of attempts');
        if (requeued.length > 0) this.wake();
      } catch (e) {
        this.opts.log.warn({ err: e, kind: kind.name }, 'lease check failed');
      }
    }
  }

  /**
   * Stops claiming, lets running jobs finish for up to `graceMs`, then stops the rest; they go
   * back to the queue for another worker.
   */
  async stop(graceMs = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all(this.unsubscribes.splice(0).map((u) => u().catch(() => {})));
    if (this.finished.size > 0 && graceMs > 0) {
      await Promise.race([
        Promise.allSettled([...this.finished]),
        new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    for (const run of this.runs.values()) run.stop('shutdown');
    await Promise.allSettled([...this.finished]);
  }
}

/**
 * Every kind's queue heads (up to `perTenant` jobs of each tenant), merged per tenant: the RUNNING
 * count is the same for all kinds, and a merged head's jobs are in submission order.
 */
export async function queueHeads(kinds: readonly ClaimableKind[], perTenant: number): Promise<QueueHead[]> {
  const perKind = await Promise.all(
    kinds.map((k) => k.queue.heads({ perTenant, maxTenants: MAX_TENANTS_PER_SCAN })),
  );
  if (kinds.length === 1) return perKind[0]!;
  const merged = new Map<string, QueueHead>();
  perKind.forEach((heads, i) => {
    for (const h of heads) {
      const jobs = h.jobs.map((j) => ({ ...j, kind: kinds[i]!.name }));
      const m = merged.get(h.tenantId);
      if (!m) merged.set(h.tenantId, { ...h, jobs });
      else {
        m.jobs.push(...jobs);
        m.running = Math.max(m.running, h.running);
      }
    }
  });
  for (const h of merged.values()) {
    h.jobs.sort((a, b) => (a.submittedAt < b.submittedAt ? -1 : a.submittedAt > b.submittedAt ? 1 : 0));
  }
  return [...merged.values()];
}
