/**
 * The StateStore contract for the Bulk API's stores (`StateStore.bulk`): conditional moves,
 * listing with filters and a tenant-bound cursor, expiry on read, the per-tenant RUNNING cap
 * shared with query jobs, metrics counts, retention. The queue itself is the job-queue contract's
 * (job-queue-contract.ts, run for bulk jobs by job-kinds.ts). Written against the port only: an
 * adapter's runner calls `bulkStateContract(name, factory)`. Ids carry a random run prefix; no
 * assertion needs an empty store.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BulkJob } from '../../src/domain/bulk-job.js';
import type { QueryJob } from '../../src/domain/query-job.js';
import type { BulkStateStores, StateStore } from '../../src/state/port.js';
import { bulkJobs, queryJobs } from './job-kinds.js';
import type { StateFactory } from './state-contract.js';

export function bulkStateContract(name: string, factory: StateFactory): void {
  const run = `b${randomBytes(3).toString('hex')}`;
  let seq = 0;
  let store: StateStore;
  let bulk: BulkStateStores;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ store, close } = await factory());
    if (!store.bulk) throw new Error(`${name} keeps no bulk jobs`);
    bulk = store.bulk;
  });
  afterAll(async () => {
    await close?.();
  });

  function bulkJob(tenantId: string, over: Partial<BulkJob> = {}): BulkJob {
    const now = Date.now() + seq++;
    const at = { queuedAt: new Date(now), draft: true, expiresAt: new Date(now + 86_400_000) };
    return { ...bulkJobs.newJob(tenantId, `${run}${String(seq).padStart(6, '0')}`, at), ...over };
  }

  const queryJob = (tenantId: string): QueryJob =>
    queryJobs.newJob(tenantId, `${run}-q${seq++}`, { queuedAt: new Date() });

  const queued = (tenantId: string, over: Partial<BulkJob> = {}) =>
    bulkJob(tenantId, {
      state: 'UploadComplete',
      queuedAt: new Date(Date.now() + seq).toISOString(),
      ...over,
    });
  const lease = (owner: string, ms = 30_000) => ({ owner, ms });
  const headOf = async (tenantId: string) =>
    (await bulk.queue.heads({ perTenant: 5, maxTenants: 1000 })).find((h) => h.tenantId === tenantId);

  describe(`${name}: bulk job records`, () => {
    it('moves only from the states given (409 with the current state), and bumps the version', async () => {
      const job = bulkJob(`${run}-t1`);
      await bulk.jobs.create(job);
      const moved = await bulk.jobs.transition(job.tenantId, job.jobId, ['Open'], {
        state: 'UploadComplete',
        queuedAt: new Date().toISOString(),
      });
      expect(moved).toMatchObject({ state: 'UploadComplete', version: 2 });
      expect(Date.parse(moved.updatedAt)).toBeGreaterThanOrEqual(Date.parse(job.updatedAt));
      expect(await bulk.jobs.get(job.tenantId, job.jobId)).toEqual(moved);
      await expect(
        bulk.jobs.transition(job.tenantId, job.jobId, ['Open'], { state: 'Aborted' }),
      ).rejects.toMatchObject({ code: 'CONFLICT', details: { state: 'UploadComplete' } });
      await expect(bulk.jobs.transition('other', job.jobId, ['Open'], {})).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(
        bulk.jobs.transition(job.tenantId, `${job.jobId}-nope`, ['Open'], {}),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await bulk.jobs.get('other', job.jobId)).toBeNull();
    });

    it('lets only the lease holder move a running job (409 for another worker)', async () => {
      const job = queued(`${run}-guard`);
      await bulk.jobs.create(job);
      await bulk.queue.claim(job.tenantId, job.jobId, lease('owner-1'), 5);
      await expect(
        bulk.jobs.transition(
          job.tenantId,
          job.jobId,
          ['InProgress'],
          { state: 'JobComplete' },
          {
            leaseOwner: 'owner-2',
          },
        ),
      ).rejects.toMatchObject({ code: 'CONFLICT', details: { state: 'InProgress' } });
      const done = await bulk.jobs.transition(
        job.tenantId,
        job.jobId,
        ['InProgress'],
        { state: 'JobComplete', recordsProcessed: 7, leaseOwner: null, leaseExpiresAt: null },
        { leaseOwner: 'owner-1' },
      );
      expect(done).toMatchObject({ state: 'JobComplete', recordsProcessed: 7, leaseOwner: null });
    });

    it('lists newest first with state and operation filters, through an opaque cursor', async () => {
      const tenant = `${run}-list`;
      const jobs = [
        bulkJob(tenant),
        bulkJob(tenant, { operation: 'upsert', object: 't', query: null }),
        bulkJob(tenant, { state: 'Failed' }),
        bulkJob(tenant, { operation: 'insert', object: 't', query: null, state: 'Failed' }),
        bulkJob(tenant),
      ];
      for (const j of jobs) await bulk.jobs.create(j);
      const all: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await bulk.jobs.list(tenant, {}, { limit: 2, cursor });
        expect(page.items.length).toBeLessThanOrEqual(2);
        all.push(...page.items.map((j) => j.jobId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(all).toEqual(jobs.map((j) => j.jobId).reverse());
      const failed = await bulk.jobs.list(tenant, { state: 'Failed' }, { limit: 10 });
      expect(failed.items.map((j) => j.jobId)).toEqual([jobs[3]!.jobId, jobs[2]!.jobId]);
      const inserts = await bulk.jobs.list(tenant, { state: 'Failed', operation: 'insert' }, { limit: 10 });
      expect(inserts.items.map((j) => j.jobId)).toEqual([jobs[3]!.jobId]);
      const upserts = await bulk.jobs.list(tenant, { operation: 'upsert' }, { limit: 1 });
      expect(upserts).toEqual({
        items: [expect.objectContaining({ jobId: jobs[1]!.jobId })],
        nextCursor: null,
      });
      await expect(bulk.jobs.list(tenant, {}, { limit: 2, cursor: 'bm9wZQ' })).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
      });
    });

    it('keeps a cursor inside the caller’s tenant', async () => {
      const mine = `${run}-iso-a`;
      const theirs = `${run}-iso-b`;
      const a = [bulkJob(mine), bulkJob(mine), bulkJob(mine)];
      const b = [bulkJob(theirs), bulkJob(theirs)];
      for (const j of [...a, ...b]) await bulk.jobs.create(j);
      const first = await bulk.jobs.list(mine, {}, { limit: 1 });
      expect(first.nextCursor).toBeTruthy();
      // The other tenant replays my cursor: it still sees only its own jobs.
      const replay = await bulk.jobs.list(theirs, {}, { limit: 10, cursor: first.nextCursor! });
      for (const j of replay.items) expect(j.tenantId).toBe(theirs);
      const rest = await bulk.jobs.list(mine, {}, { limit: 10, cursor: first.nextCursor! });
      expect(rest.items.map((j) => j.jobId)).toEqual([a[1]!.jobId, a[0]!.jobId]);
    });

    it('hides expired jobs from get and list at once', async () => {
      const tenant = `${run}-exp`;
      const gone = bulkJob(tenant, { expiresAt: new Date(Date.now() - 1000).toISOString() });
      const live = bulkJob(tenant);
      await bulk.jobs.create(gone);
      await bulk.jobs.create(live);
      expect(await bulk.jobs.get(tenant, gone.jobId)).toBeNull();
      expect((await bulk.jobs.list(tenant, {}, { limit: 10 })).items.map((j) => j.jobId)).toEqual([
        live.jobId,
      ]);
      await expect(
        bulk.jobs.transition(tenant, gone.jobId, ['Open'], { state: 'Aborted' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe(`${name}: bulk queue`, () => {
    it('counts query and bulk jobs against one RUNNING cap, in separate queues', async () => {
      const tenant = `${run}-cap`;
      const a = queued(tenant);
      const b = queued(tenant);
      await bulk.jobs.create(a);
      await bulk.jobs.create(b);
      expect(await bulk.queue.claim(tenant, a.jobId, lease('w'), 5)).toMatchObject({ state: 'InProgress' });
      // A RUNNING query job of the same tenant takes the second slot of a cap of 2.
      const query = queryJob(tenant);
      await store.jobs.create(query);
      expect(await store.jobQueue.claim(tenant, query.jobId, lease('q'), 2)).toMatchObject({
        status: 'RUNNING',
      });
      expect(await bulk.queue.claim(tenant, b.jobId, lease('w'), 2)).toBeNull();
      expect((await headOf(tenant))?.running).toBe(2);
      // Query jobs and bulk jobs are separate queues.
      expect(
        (await store.jobQueue.heads({ perTenant: 5, maxTenants: 1000 })).some((h) => h.tenantId === tenant),
      ).toBe(false);
      expect(await bulk.queue.claim(tenant, b.jobId, lease('w'), 3)).toMatchObject({ state: 'InProgress' });
      // And the other way round: three running, a query job waits at a cap of 3.
      const query2 = queryJob(tenant);
      await store.jobs.create(query2);
      expect(await store.jobQueue.claim(tenant, query2.jobId, lease('q'), 3)).toBeNull();
    });
    it('holds one cap when query and bulk jobs of a tenant are claimed at the same time', async () => {
      const tenant = `${run}-mixed`;
      const bulkJobs = Array.from({ length: 6 }, () => queued(tenant));
      const queryJobs = Array.from({ length: 6 }, () => queryJob(tenant));
      for (const j of bulkJobs) await bulk.jobs.create(j);
      for (const j of queryJobs) await store.jobs.create(j);
      const claims = await Promise.all([
        ...bulkJobs.map((j, i) => bulk.queue.claim(tenant, j.jobId, lease(`b${i}`), 3)),
        ...queryJobs.map((j, i) => store.jobQueue.claim(tenant, j.jobId, lease(`q${i}`), 3)),
      ]);
      expect(claims.filter((c) => c !== null)).toHaveLength(3);
      expect((await headOf(tenant))?.running).toBe(3);
    });

    it('counts queued and running bulk jobs for the metrics, beside query jobs', async () => {
      const count = async (status: string) =>
        (await store.stats.activeJobCounts()).find((c) => c.kind === 'bulk' && c.status === status)?.count ??
        0;
      const [queuedBefore, runningBefore] = [await count('UploadComplete'), await count('InProgress')];
      const tenant = `${run}-stats`;
      const [a, b] = [queued(tenant), queued(tenant)];
      await bulk.jobs.create(a);
      await bulk.jobs.create(b);
      expect(await count('UploadComplete')).toBe(queuedBefore + 2);
      expect(await bulk.queue.claim(tenant, a.jobId, lease('stats'), 5)).not.toBeNull();
      expect([await count('UploadComplete'), await count('InProgress')]).toEqual([
        queuedBefore + 1,
        runningBefore + 1,
      ]);
      const kinds = new Set((await store.stats.activeJobCounts()).map((c) => c.kind));
      expect(kinds).toEqual(new Set(['query', 'bulk']));
    });

    it('retention deletes expired jobs but never InProgress ones', async () => {
      const past = new Date(Date.now() - 1000).toISOString();
      const done = bulkJob(`${run}-ret`, { state: 'JobComplete', expiresAt: past });
      const running = bulkJob(`${run}-ret`, { state: 'InProgress', expiresAt: past });
      await bulk.jobs.create(done);
      await bulk.jobs.create(running);
      const deleted = await bulk.retention.deleteExpired(100);
      expect(deleted).toContainEqual({ tenantId: done.tenantId, jobId: done.jobId });
      expect(deleted).not.toContainEqual({ tenantId: running.tenantId, jobId: running.jobId });
    });
  });
}
