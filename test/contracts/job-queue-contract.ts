/**
 * The StateStore contract for async jobs — the queue (claims, caps, leases, events), retention and
 * idempotency records — written against the port only, so the DynamoDB adapter can run it too:
 * `jobQueueContract(name, factory)`. Ids carry a random run prefix; no assertion needs an empty store.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncFieldsUnset, type QueryJob, UNLIMITED_ROWS } from '../../src/domain/query-job.js';
import type { QueueEvent, StateStore } from '../../src/state/port.js';
import { WAIT_TIMEOUT_MS } from '../helpers/time.js';

export type JobStateFactory = () => Promise<{ store: StateStore; close(): Promise<void> }>;

export function jobQueueContract(name: string, factory: JobStateFactory): void {
  const run = `c${randomBytes(3).toString('hex')}`;
  let state: StateStore;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store: state, close } = await factory());
  });
  afterAll(async () => {
    await close?.();
  });

  describe(`${name}: job queue, retention and idempotency records`, () => {
    let seq = 0;
    function queuedJob(tenantId: string, over: Partial<QueryJob> = {}): QueryJob {
      const now = Date.now();
      seq++;
      return {
        ...asyncFieldsUnset(),
        jobId: `job-${run}${seq.toString().padStart(6, '0')}`,
        tenantId,
        status: 'QUEUED',
        sql: 'SELECT 1',
        plannedSql: 'SELECT 1',
        async: true,
        rowLimit: UNLIMITED_ROWS,
        timeoutSeconds: 60,
        submittedAt: new Date(now + seq).toISOString(),
        startedAt: null,
        completedAt: null,
        rowCount: null,
        truncated: null,
        executionTimeMs: null,
        error: null,
        statementRef: null,
        submittedBy: 'test',
        expiresAt: new Date(now + 86_400_000).toISOString(),
        version: 1,
        dbUser: 'tenant_x',
        ...over,
      };
    }

    const lease = (owner: string, ms = 30_000) => ({ owner, ms });

    describe('claiming', () => {
      it('lets exactly one of 20 concurrent claimers win a job', async () => {
        const job = queuedJob(`${run}-race`);
        await state.jobs.create(job);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            state.jobQueue.claim(job.tenantId, job.jobId, lease(`w${i}`), 100),
          ),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(winners[0]).toMatchObject({ status: 'RUNNING', attempts: 1, rowsFetched: 0 });
        expect(winners[0]!.leaseOwner).toMatch(/^w\d+$/);
        expect(Date.parse(winners[0]!.leaseExpiresAt!)).toBeGreaterThan(Date.now() + 20_000);
      });

      it('holds a tenant to its cap of RUNNING jobs across concurrent claimers', async () => {
        const jobs = Array.from({ length: 12 }, () => queuedJob(`${run}-cap`));
        for (const j of jobs) await state.jobs.create(j);
        const results = await Promise.all(
          jobs.map((j, i) => state.jobQueue.claim(j.tenantId, j.jobId, lease(`w${i}`), 3)),
        );
        expect(results.filter((r) => r !== null)).toHaveLength(3);
        const heads = (await state.jobQueue.heads({ perTenant: 2, maxTenants: 100 })).find(
          (h) => h.tenantId === `${run}-cap`,
        );
        expect(heads?.running).toBe(3);
        expect(heads?.jobs).toHaveLength(2);
      });

      it('lists each tenant’s oldest claimable jobs and hides jobs in backoff or expired', async () => {
        const a1 = queuedJob(`${run}-heads-a`);
        const a2 = queuedJob(`${run}-heads-a`);
        const later = queuedJob(`${run}-heads-b`, { notBefore: new Date(Date.now() + 60_000).toISOString() });
        const gone = queuedJob(`${run}-heads-c`, { expiresAt: new Date(Date.now() - 1000).toISOString() });
        for (const j of [a2, a1, later, gone]) await state.jobs.create(j);
        const heads = await state.jobQueue.heads({ perTenant: 5, maxTenants: 1000 });
        const byTenant = new Map(heads.map((h) => [h.tenantId, h]));
        expect(byTenant.get(`${run}-heads-a`)?.jobs.map((j) => j.jobId)).toEqual([a1.jobId, a2.jobId]);
        expect(byTenant.has(`${run}-heads-b`)).toBe(false);
        expect(byTenant.has(`${run}-heads-c`)).toBe(false);
        expect(await state.jobQueue.claim(later.tenantId, later.jobId, lease('w'), 5)).toBeNull();
        expect(await state.jobs.get(gone.tenantId, gone.jobId)).toBeNull();
      });
    });

    describe('leases', () => {
      it('renews a lease only for its owner, and only while the job is RUNNING', async () => {
        const job = queuedJob(`${run}-beat`);
        await state.jobs.create(job);
        await state.jobQueue.claim(job.tenantId, job.jobId, lease('owner-1'), 5);
        expect(
          await state.jobQueue.heartbeat(job.tenantId, job.jobId, lease('owner-1'), { rowsFetched: 42 }),
        ).toBe(true);
        expect((await state.jobs.get(job.tenantId, job.jobId))?.rowsFetched).toBe(42);
        expect(
          await state.jobQueue.heartbeat(job.tenantId, job.jobId, lease('owner-2'), { rowsFetched: 1 }),
        ).toBe(false);
        await expect(
          state.jobs.transition(
            job.tenantId,
            job.jobId,
            ['RUNNING'],
            { status: 'COMPLETED' },
            { leaseOwner: 'owner-2' },
          ),
        ).rejects.toMatchObject({ code: 'CONFLICT' });
        await state.jobs.transition(job.tenantId, job.jobId, ['QUEUED', 'RUNNING'], { status: 'CANCELLED' });
        expect(
          await state.jobQueue.heartbeat(job.tenantId, job.jobId, lease('owner-1'), { rowsFetched: 43 }),
        ).toBe(false);
      });

      it('re-queues a job whose lease expired, then fails it with MAX_ATTEMPTS_EXCEEDED after the last attempt', async () => {
        const job = queuedJob(`${run}-expiry`);
        await state.jobs.create(job);
        const maxAttempts = 2;
        for (let attempt = 1; attempt <= maxAttempts; attempt++) {
          const claimed = await state.jobQueue.claim(
            job.tenantId,
            job.jobId,
            lease(`dead-${attempt}`, 50),
            5,
          );
          expect(claimed?.attempts).toBe(attempt);
          await new Promise((r) => setTimeout(r, 80));
          const { requeued, failed } = await state.jobQueue.requeueExpired(maxAttempts, 100);
          const mine = [...requeued, ...failed].filter((j) => j.jobId === job.jobId);
          expect(mine).toHaveLength(1);
          if (attempt < maxAttempts) {
            expect(mine[0]).toMatchObject({ status: 'QUEUED', leaseOwner: null, statementRef: null });
          } else {
            expect(mine[0]?.status).toBe('FAILED');
            expect(mine[0]?.error?.code).toBe('MAX_ATTEMPTS_EXCEEDED');
          }
        }
        // A live lease is left alone.
        const live = queuedJob(`${run}-expiry`);
        await state.jobs.create(live);
        await state.jobQueue.claim(live.tenantId, live.jobId, lease('alive', 30_000), 5);
        const { requeued } = await state.jobQueue.requeueExpired(maxAttempts, 100);
        expect(requeued.map((j) => j.jobId)).not.toContain(live.jobId);
      });
    });

    describe('queue events', () => {
      it('publishes a queued event for new and re-queued jobs and a cancelled event for RUNNING jobs', async () => {
        const events: QueueEvent[] = [];
        const unsubscribe = await state.jobQueue.subscribe((e) => events.push(e));
        try {
          const job = queuedJob(`${run}-events`);
          await state.jobs.create(job);
          await expect
            .poll(() => events.some((e) => e.type === 'queued'), { timeout: WAIT_TIMEOUT_MS })
            .toBe(true);
          await state.jobQueue.claim(job.tenantId, job.jobId, lease('w'), 5);
          await state.jobs.transition(job.tenantId, job.jobId, ['RUNNING'], { status: 'CANCELLED' });
          await expect
            .poll(() => events.find((e) => e.type === 'cancelled'), { timeout: WAIT_TIMEOUT_MS })
            .toEqual({ type: 'cancelled', tenantId: job.tenantId, jobId: job.jobId });
        } finally {
          await unsubscribe();
        }
      });
    });

    describe('retention', () => {
      it('hides expired jobs at once and lets the sweeper delete them and forget expired results', async () => {
        const expired = queuedJob(`${run}-ret`, {
          status: 'COMPLETED',
          expiresAt: new Date(Date.now() - 1).toISOString(),
        });
        const withResult = queuedJob(`${run}-ret`, {
          status: 'COMPLETED',
          result: {
            key: `${run}-ret/x/result-1.ndjson`,
            columns: [],
            expiresAt: new Date(Date.now() - 1).toISOString(),
          },
        });
        await state.jobs.create(expired);
        await state.jobs.create(withResult);
        expect(await state.jobs.get(expired.tenantId, expired.jobId)).toBeNull();
        const results = await state.jobRetention.expiredResults(100);
        expect(results).toContainEqual({
          tenantId: `${run}-ret`,
          jobId: withResult.jobId,
          key: `${run}-ret/x/result-1.ndjson`,
        });
        await state.jobRetention.clearResult(`${run}-ret`, withResult.jobId, `${run}-ret/x/result-1.ndjson`);
        expect((await state.jobs.get(`${run}-ret`, withResult.jobId))?.result).toBeNull();
        const deleted = await state.jobRetention.deleteExpired(100);
        expect(deleted).toContainEqual({ tenantId: `${run}-ret`, jobId: expired.jobId });
      });
    });

    describe('idempotency records', () => {
      const rec = (key: string, owner: string, hash = 'h1', ttlMs = 60_000, lockMs = 60_000) => ({
        tenantId: `${run}-idem`,
        key,
        requestHash: hash,
        owner,
        expiresAt: new Date(Date.now() + ttlMs).toISOString(),
        lockedUntil: new Date(Date.now() + lockMs).toISOString(),
      });

      it('gives a key to exactly one of many concurrent requests', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => state.idempotency.acquire(rec('k1', `o${i}`))),
        );
        expect(results.filter((r) => r.acquired)).toHaveLength(1);
      });

      it('completes, replays, releases, and lets an expired or abandoned key be taken over', async () => {
        expect((await state.idempotency.acquire(rec('k2', 'a'))).acquired).toBe(true);
        const response = {
          status: 202,
          headers: { 'content-type': 'application/json' },
          body: '{}',
          bodyKey: null,
        };
        expect(await state.idempotency.complete(`${run}-idem`, 'k2', 'b', response)).toBe(false);
        expect(await state.idempotency.complete(`${run}-idem`, 'k2', 'a', response)).toBe(true);
        const taken = await state.idempotency.acquire(rec('k2', 'c'));
        expect(taken.acquired).toBe(false);
        if (!taken.acquired) expect(taken.record).toMatchObject({ state: 'completed', response });

        expect((await state.idempotency.acquire(rec('k3', 'a'))).acquired).toBe(true);
        await state.idempotency.release(`${run}-idem`, 'k3', 'a');
        expect((await state.idempotency.acquire(rec('k3', 'b'))).acquired).toBe(true);

        expect((await state.idempotency.acquire(rec('k4', 'a', 'h1', 60_000, -1))).acquired).toBe(true);
        expect((await state.idempotency.acquire(rec('k4', 'b'))).acquired).toBe(true); // abandoned in progress
        expect((await state.idempotency.acquire(rec('k5', 'a', 'h1', -1))).acquired).toBe(true);
        expect(await state.idempotency.get(`${run}-idem`, 'k5')).toBeNull(); // expired: hidden
        expect((await state.idempotency.acquire(rec('k5', 'b'))).acquired).toBe(true);
        expect((await state.idempotency.acquire(rec('k6', 'a', 'h1', -1))).acquired).toBe(true);
        const swept = await state.idempotency.deleteExpired(100);
        expect(swept.map((r) => r.key)).toContain('k6');
      });
    });
  });
}
