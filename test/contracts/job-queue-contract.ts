/**
 * The JobQueueStore<J> contract, generic over job kinds: claims (one winner, the tenant's cap),
 * queue heads, leases and progress, lease expiry, events. `jobQueueContract(name, kind, factory)`
 * runs it for one kind (its state names and record factory, job-kinds.ts) against one adapter:
 * every StateStore for query and bulk jobs, and the in-memory fake the worker's unit tests use.
 * Ids carry a random run prefix; no assertion needs an empty store.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobError } from '../../src/domain/query-job.js';
import type { JobQueueStore, QueuedJob, QueueEvent, TransitionGuard } from '../../src/state/port.js';
import { WAIT_TIMEOUT_MS } from '../helpers/time.js';

/** What the contract reads of a job of any kind. */
export interface LeasedJob extends QueuedJob {
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  error: JobError | null;
  /** Kinds that run warehouse statements record the running one here. */
  statementRef?: string | null;
}

/** A job kind as the contract drives it: its state names, its record factory, how it reads. */
export interface QueueKind<J extends LeasedJob> {
  /** Names the kind in suite titles (`query jobs`, `bulk jobs`). */
  name: string;
  /** The job field holding its state; a CONFLICT's details name the current one under it too. */
  stateField: keyof J & string;
  /** `draft`: a state before the queue, when the kind has one (bulk jobs: Open). */
  states: {
    draft?: string;
    queued: string;
    running: string;
    done: string;
    cancelled: string;
    failed: string;
  };
  /** A new job in the queued state (or `draft`), placed in its tenant's queue by `queuedAt`. */
  newJob(
    tenantId: string,
    id: string,
    at: { queuedAt: Date; notBefore?: Date; expiresAt?: Date; draft?: boolean },
  ): J;
  /** The progress a heartbeat recorded: rows fetched, and rows failed when the kind counts them. */
  progressOf(job: J): { rowsFetched: number | null; rowsFailed?: number };
  /** Whether a heartbeat's `rowsFailed` is kept (bulk jobs count failed records). */
  countsFailedRows: boolean;
}

/** The adapter side: the kind's queue and the records it moves. */
export interface QueueUnderTest<J extends LeasedJob> {
  queue: JobQueueStore<J>;
  create(job: J): Promise<void>;
  /** Null when absent or expired. */
  get(tenantId: string, jobId: string): Promise<J | null>;
  /** The port's conditional move out of one of `from` into `to`; CONFLICT / NOT_FOUND otherwise. */
  move(
    tenantId: string,
    jobId: string,
    from: readonly string[],
    to: string,
    guard?: TransitionGuard,
  ): Promise<J>;
  close(): Promise<void>;
}

export function jobQueueContract<J extends LeasedJob>(
  name: string,
  kind: QueueKind<J>,
  factory: () => Promise<QueueUnderTest<J>>,
): void {
  describe(`${name}: job queue of ${kind.name}`, () => {
    const run = `q${randomBytes(3).toString('hex')}`;
    const { states } = kind;
    let seq = 0;
    let sut: QueueUnderTest<J>;
    let queue: JobQueueStore<J>;
    beforeAll(async () => {
      sut = await factory();
      queue = sut.queue;
    });
    afterAll(async () => {
      await sut?.close();
    });

    type At = { queuedAt?: Date; notBefore?: Date; expiresAt?: Date; draft?: boolean };
    function newJob(tenantId: string, at: At = {}): J {
      seq++;
      const id = `${run}${String(seq).padStart(6, '0')}`;
      return kind.newJob(tenantId, id, { queuedAt: new Date(Date.now() + seq), ...at });
    }
    async function queued(tenantId: string, at: { notBefore?: Date; expiresAt?: Date } = {}): Promise<J> {
      const job = newJob(tenantId, at);
      await sut.create(job);
      return job;
    }
    const stateOf = (job: J | null) => job?.[kind.stateField];
    const lease = (owner: string, ms = 30_000) => ({ owner, ms });
    const headOf = async (tenantId: string, perTenant = 5) =>
      (await queue.heads({ perTenant, maxTenants: 1000 })).find((h) => h.tenantId === tenantId);
    const cancel = (job: J) =>
      sut.move(
        job.tenantId,
        job.jobId,
        [states.draft, states.queued, states.running].filter(isState),
        states.cancelled,
      );

    it('lets exactly one of 20 concurrent claimers win a job, with a lease', async () => {
      const job = await queued(`${run}-race`);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => queue.claim(job.tenantId, job.jobId, lease(`w${i}`), 100)),
      );
      const winners = results.filter((r) => r !== null) as J[];
      expect(winners).toHaveLength(1);
      const won = winners[0]!;
      expect(stateOf(won)).toBe(states.running);
      expect(won.attempts).toBe(1);
      expect(kind.progressOf(won).rowsFetched).toBe(0);
      expect(won.leaseOwner).toMatch(/^w\d+$/);
      expect(Date.parse(won.leaseExpiresAt!)).toBeGreaterThan(Date.now() + 20_000);
    });

    it('holds a tenant to its cap of running jobs across concurrent claimers, and frees a slot when a job leaves the running state', async () => {
      const tenant = `${run}-cap`;
      const jobs: J[] = [];
      for (let i = 0; i < 12; i++) jobs.push(await queued(tenant));
      const results = await Promise.all(jobs.map((j, i) => queue.claim(tenant, j.jobId, lease(`w${i}`), 3)));
      const won = results.filter((r) => r !== null) as J[];
      expect(won).toHaveLength(3);
      const heads = await headOf(tenant, 2);
      expect(heads?.running).toBe(3);
      expect(heads?.jobs).toHaveLength(2);
      const waiting = jobs.filter((j) => !won.some((w) => w.jobId === j.jobId));
      expect(await queue.claim(tenant, waiting[0]!.jobId, lease('x'), 3)).toBeNull();
      // Cancelled while running: the slot is free again.
      await cancel(won[0]!);
      expect(stateOf(await queue.claim(tenant, waiting[0]!.jobId, lease('x'), 3))).toBe(states.running);
      // Finished by its lease holder: free again. Cancelling a queued job changes nothing.
      await sut.move(tenant, won[1]!.jobId, [states.running], states.done, {
        leaseOwner: won[1]!.leaseOwner!,
      });
      await cancel(waiting[2]!);
      expect((await headOf(tenant))?.running).toBe(2);
      expect(stateOf(await queue.claim(tenant, waiting[1]!.jobId, lease('y'), 3))).toBe(states.running);
    });

    it('lists each tenant’s oldest claimable jobs in queue order and hides jobs not yet queued, in backoff or expired', async () => {
      const t0 = Date.now();
      const tenant = `${run}-heads-a`;
      const second = newJob(tenant, { queuedAt: new Date(t0 + 2) });
      const first = newJob(tenant, { queuedAt: new Date(t0 + 1) });
      const later = newJob(tenant, { notBefore: new Date(t0 + 60_000) });
      const gone = newJob(tenant, { expiresAt: new Date(t0 - 1000) });
      const draft = states.draft ? newJob(tenant, { draft: true }) : null;
      const onlyLater = newJob(`${run}-heads-b`, { notBefore: new Date(t0 + 60_000) });
      const onlyGone = newJob(`${run}-heads-c`, { expiresAt: new Date(t0 - 1000) });
      for (const j of [second, first, later, gone, draft, onlyLater, onlyGone]) if (j) await sut.create(j);
      const heads = await queue.heads({ perTenant: 5, maxTenants: 1000 });
      const byTenant = new Map(heads.map((h) => [h.tenantId, h]));
      expect(byTenant.get(tenant)?.jobs.map((j) => j.jobId)).toEqual([first.jobId, second.jobId]);
      expect(byTenant.has(`${run}-heads-b`)).toBe(false);
      expect(byTenant.has(`${run}-heads-c`)).toBe(false);
      for (const j of [later, gone, draft, onlyLater, onlyGone])
        if (j) expect(await queue.claim(j.tenantId, j.jobId, lease('w'), 5)).toBeNull();
      expect(await sut.get(gone.tenantId, gone.jobId)).toBeNull();
    });

    it('renews a lease and records progress only for its owner, and only while the job is running', async () => {
      const job = await queued(`${run}-beat`);
      await queue.claim(job.tenantId, job.jobId, lease('owner-1'), 5);
      const progress = { rowsFetched: 42, rowsFailed: 3 };
      expect(await queue.heartbeat(job.tenantId, job.jobId, lease('owner-1', 60_000), progress)).toBe(true);
      const seen = await sut.get(job.tenantId, job.jobId);
      expect(kind.progressOf(seen!)).toEqual(kind.countsFailedRows ? progress : { rowsFetched: 42 });
      expect(seen?.leaseOwner).toBe('owner-1');
      expect(Date.parse(seen!.leaseExpiresAt!)).toBeGreaterThan(Date.now() + 45_000);
      expect(await queue.heartbeat(job.tenantId, job.jobId, lease('owner-2'), { rowsFetched: 1 })).toBe(
        false,
      );
      await expect(
        sut.move(job.tenantId, job.jobId, [states.running], states.done, { leaseOwner: 'owner-2' }),
      ).rejects.toMatchObject({ code: 'CONFLICT', details: { [kind.stateField]: states.running } });
      await cancel(job);
      expect(await queue.heartbeat(job.tenantId, job.jobId, lease('owner-1'), { rowsFetched: 43 })).toBe(
        false,
      );
    });

    it('re-queues a job whose lease expired, then fails it with MAX_ATTEMPTS_EXCEEDED after the last attempt', async () => {
      const job = await queued(`${run}-expiry`);
      const maxAttempts = 2;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const claimed = await queue.claim(job.tenantId, job.jobId, lease(`dead-${attempt}`, 50), 5);
        expect(claimed?.attempts).toBe(attempt);
        // The lease runs out on the store's clock: wait past it.
        await new Promise((r) => setTimeout(r, 80));
        const { requeued, failed } = await queue.requeueExpired(maxAttempts, 100);
        const mine = [...requeued, ...failed].filter((j) => j.jobId === job.jobId);
        expect(mine).toHaveLength(1);
        const stored = await sut.get(job.tenantId, job.jobId);
        if (attempt < maxAttempts) {
          expect(requeued.map((j) => j.jobId)).toContain(job.jobId);
          for (const j of [mine[0]!, stored!]) {
            expect(stateOf(j)).toBe(states.queued);
            expect([j.leaseOwner, j.leaseExpiresAt]).toEqual([null, null]);
            if ('statementRef' in j) expect(j.statementRef).toBeNull();
          }
          expect((await headOf(job.tenantId))?.running).toBe(0);
        } else {
          expect(failed.map((j) => j.jobId)).toContain(job.jobId);
          for (const j of [mine[0]!, stored!]) {
            expect(stateOf(j)).toBe(states.failed);
            expect(j.error?.code).toBe('MAX_ATTEMPTS_EXCEEDED');
          }
        }
      }
      // A live lease is left alone.
      const live = await queued(`${run}-expiry`);
      await queue.claim(live.tenantId, live.jobId, lease('alive', 30_000), 5);
      const { requeued, failed } = await queue.requeueExpired(maxAttempts, 100);
      expect([...requeued, ...failed].map((j) => j.jobId)).not.toContain(live.jobId);
    });

    it('publishes a queued event naming a new job, and a cancelled event for running jobs', async () => {
      const events: QueueEvent[] = [];
      const unsubscribe = await queue.subscribe((e) => events.push(e));
      try {
        const job = await queued(`${run}-events`);
        // Sources may also publish unnamed events (a poll, a reconnect); the new job's names it.
        await expect
          .poll(() => events.find((e) => e.type === 'queued' && e.job?.jobId === job.jobId), {
            timeout: WAIT_TIMEOUT_MS,
          })
          .toEqual({ type: 'queued', job: { tenantId: job.tenantId, jobId: job.jobId } });
        await queue.claim(job.tenantId, job.jobId, lease('w'), 5);
        await sut.move(job.tenantId, job.jobId, [states.running], states.cancelled);
        await expect
          .poll(() => events.find((e) => e.type === 'cancelled'), { timeout: WAIT_TIMEOUT_MS })
          .toEqual({ type: 'cancelled', tenantId: job.tenantId, jobId: job.jobId });
      } finally {
        await unsubscribe();
      }
    });
  });
}

const isState = (s: string | undefined): s is string => s !== undefined;
