/**
 * Bulk jobs in the PostgreSQL StateStore (a control database of its own): conditional moves,
 * listing with filters and cursor, the queue (the same JobQueueStore contract as query jobs, with
 * the per-tenant RUNNING cap shared across both kinds), lease expiry, events, retention.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BulkJob } from '../../../src/domain/bulk-job.js';
import { asyncFieldsUnset, type QueryJob, UNLIMITED_ROWS } from '../../../src/domain/query-job.js';
import type { BulkStateStores, QueueEvent } from '../../../src/state/port.js';
import { PostgresStateStore } from '../../../src/state/postgres/index.js';
import { type ControlDb, createControlDb } from '../jobs/control-db.js';

let control: ControlDb;
let store: PostgresStateStore;
let bulk: BulkStateStores;
const run = `b${randomBytes(3).toString('hex')}`;
let seq = 0;

beforeAll(async () => {
  control = await createControlDb('bulk_state');
  store = new PostgresStateStore({ connectionString: control.url, poolSize: 10 });
  await store.migrate();
  bulk = store.bulk;
});
afterAll(async () => {
  await store?.close();
  await control?.drop();
});

function bulkJob(tenantId: string, over: Partial<BulkJob> = {}): BulkJob {
  const now = Date.now() + seq++;
  return {
    jobId: `bulk-${run}${String(seq).padStart(6, '0')}`,
    tenantId,
    operation: 'query',
    object: null,
    query: 'SELECT 1',
    plannedSql: 'SELECT 1',
    contentType: 'CSV',
    compression: 'NONE',
    columnDelimiter: ',',
    lineEnding: 'LF',
    jsonFormat: 'NDJSON',
    externalIdField: null,
    state: 'Open',
    dbUser: 'tenant_x',
    createdBy: 'test',
    createdAt: new Date(now).toISOString(),
    updatedAt: new Date(now).toISOString(),
    queuedAt: null,
    startedAt: null,
    completedAt: null,
    recordsProcessed: 0,
    recordsFailed: 0,
    error: null,
    upload: null,
    result: null,
    timeoutSeconds: 60,
    statementRef: null,
    attempts: 0,
    leaseOwner: null,
    leaseExpiresAt: null,
    notBefore: null,
    expiresAt: new Date(now + 86_400_000).toISOString(),
    version: 1,
    ...over,
  };
}

const queued = (tenantId: string, over: Partial<BulkJob> = {}) =>
  bulkJob(tenantId, { state: 'UploadComplete', queuedAt: new Date(Date.now() + seq).toISOString(), ...over });
const lease = (owner: string, ms = 30_000) => ({ owner, ms });

describe('bulk job records', () => {
  it('moves only from the states given (409 with the current state), and bumps the version', async () => {
    const job = bulkJob(`${run}-t1`);
    await bulk.jobs.create(job);
    const moved = await bulk.jobs.transition(job.tenantId, job.jobId, ['Open'], { state: 'UploadComplete' });
    expect(moved).toMatchObject({ state: 'UploadComplete', version: 2 });
    await expect(
      bulk.jobs.transition(job.tenantId, job.jobId, ['Open'], { state: 'Aborted' }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { state: 'UploadComplete' },
    });
    await expect(bulk.jobs.transition('other', job.jobId, ['Open'], {})).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await bulk.jobs.get('other', job.jobId)).toBeNull();
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
      all.push(...page.items.map((j) => j.jobId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(all).toEqual(jobs.map((j) => j.jobId).reverse());
    const failed = await bulk.jobs.list(tenant, { state: 'Failed' }, { limit: 10 });
    expect(failed.items.map((j) => j.jobId)).toEqual([jobs[3]!.jobId, jobs[2]!.jobId]);
    const inserts = await bulk.jobs.list(tenant, { state: 'Failed', operation: 'insert' }, { limit: 10 });
    expect(inserts.items.map((j) => j.jobId)).toEqual([jobs[3]!.jobId]);
    await expect(bulk.jobs.list(tenant, {}, { limit: 2, cursor: 'bm9wZQ' })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });
});

describe('bulk queue', () => {
  it('claims UploadComplete jobs once, with a lease, counting query and bulk jobs against one cap', async () => {
    const tenant = `${run}-cap`;
    const a = queued(tenant);
    const b = queued(tenant);
    await bulk.jobs.create(a);
    await bulk.jobs.create(b);
    const heads = (await bulk.queue.heads({ perTenant: 5, maxTenants: 1000 })).find(
      (h) => h.tenantId === tenant,
    );
    expect(heads?.jobs.map((j) => j.jobId)).toEqual([a.jobId, b.jobId]);
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => bulk.queue.claim(tenant, a.jobId, lease(`w${i}`), 5)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(claims.find(Boolean)).toMatchObject({ state: 'InProgress', attempts: 1 });
    // A RUNNING query job of the same tenant takes the second slot of a cap of 2.
    const now = Date.now();
    const query: QueryJob = {
      ...asyncFieldsUnset(),
      jobId: `job-${run}-q`,
      tenantId: tenant,
      status: 'QUEUED',
      sql: 'SELECT 1',
      plannedSql: 'SELECT 1',
      async: true,
      rowLimit: UNLIMITED_ROWS,
      timeoutSeconds: 60,
      submittedAt: new Date(now).toISOString(),
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
    };
    await store.jobs.create(query);
    expect(await store.jobQueue.claim(tenant, query.jobId, lease('q'), 2)).toMatchObject({
      status: 'RUNNING',
    });
    expect(await bulk.queue.claim(tenant, b.jobId, lease('w'), 2)).toBeNull();
    expect(
      (await bulk.queue.heads({ perTenant: 5, maxTenants: 1000 })).find((h) => h.tenantId === tenant)
        ?.running,
    ).toBe(2);
    expect(await bulk.queue.claim(tenant, b.jobId, lease('w'), 3)).toMatchObject({ state: 'InProgress' });
  });

  it('records progress with each heartbeat, only for the lease holder', async () => {
    const job = queued(`${run}-hb`);
    await bulk.jobs.create(job);
    await bulk.queue.claim(job.tenantId, job.jobId, lease('me'), 5);
    expect(
      await bulk.queue.heartbeat(job.tenantId, job.jobId, lease('me'), { rowsFetched: 42, rowsFailed: 3 }),
    ).toBe(true);
    expect(await bulk.queue.heartbeat(job.tenantId, job.jobId, lease('you'), { rowsFetched: 1 })).toBe(false);
    expect(await bulk.jobs.get(job.tenantId, job.jobId)).toMatchObject({
      recordsProcessed: 42,
      recordsFailed: 3,
    });
  });

  it('puts a job whose lease expired back to UploadComplete, and fails it after the last attempt', async () => {
    const job = queued(`${run}-lease`);
    await bulk.jobs.create(job);
    await bulk.queue.claim(job.tenantId, job.jobId, lease('dead', 1), 5);
    await new Promise((r) => setTimeout(r, 20));
    let out = await bulk.queue.requeueExpired(2, 100);
    expect(out.requeued.map((j) => j.jobId)).toContain(job.jobId);
    expect(await bulk.jobs.get(job.tenantId, job.jobId)).toMatchObject({
      state: 'UploadComplete',
      leaseOwner: null,
    });
    await bulk.queue.claim(job.tenantId, job.jobId, lease('dead again', 1), 5);
    await new Promise((r) => setTimeout(r, 20));
    out = await bulk.queue.requeueExpired(2, 100);
    expect(out.failed.map((j) => j.jobId)).toContain(job.jobId);
    expect(await bulk.jobs.get(job.tenantId, job.jobId)).toMatchObject({
      state: 'Failed',
      error: { code: 'MAX_ATTEMPTS_EXCEEDED' },
    });
  });

  it('publishes queued and aborted-while-running events', async () => {
    const events: QueueEvent[] = [];
    const unsubscribe = await bulk.queue.subscribe((e) => events.push(e));
    try {
      const job = queued(`${run}-ev`);
      await bulk.jobs.create(job);
      await bulk.queue.claim(job.tenantId, job.jobId, lease('w'), 5);
      await bulk.jobs.transition(job.tenantId, job.jobId, ['InProgress'], { state: 'Aborted' });
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && !events.some((e) => e.type === 'cancelled'))
        await new Promise((r) => setTimeout(r, 20));
      expect(events).toContainEqual({ type: 'queued' });
      expect(events).toContainEqual({ type: 'cancelled', tenantId: job.tenantId, jobId: job.jobId });
    } finally {
      await unsubscribe();
    }
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
