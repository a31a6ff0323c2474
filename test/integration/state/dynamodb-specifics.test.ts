/**
 * What only the DynamoDB StateStore does, on the run's DynamoDB Local (fresh tables): TTL and
 * streams, status and lease indexes, the tenant counter item. The port contracts run in
 * test/integration/adapters/dynamodb.test.ts.
 */
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus, QueryJob } from '../../../src/domain/query-job.js';
import { runnableJob } from '../../../src/runtime/lambda/worker.js';
import { createTables, DynamoStateStore, stateTableNames } from '../../../src/state/dynamodb/index.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../../helpers/dynamodb-fixture.js';
import { queuedQueryJob } from '../../helpers/query-job-fixture.js';

describe('DynamoDB specifics', () => {
  let store: DynamoStateStore;
  let raw: DynamoDBClient;
  let tables: ReturnType<typeof stateTableNames>;
  beforeAll(async () => {
    const clientConfig = dynamoClientConfig(await dynamoEndpoint());
    tables = stateTableNames(uniqueTablePrefix('specifics'));
    raw = new DynamoDBClient(clientConfig);
    await createTables(raw, tables);
    await createTables(raw, tables); // idempotent: `spectra aws init` may run twice
    store = new DynamoStateStore({ tables, clientConfig });
  });
  afterAll(async () => {
    await store?.close();
    raw?.destroy();
  });

  const job = queuedQueryJob;

  it('every table has TTL on `expires_at` and a stream; a job item carries what the worker trigger reads', async () => {
    for (const table of Object.values(tables)) {
      const ttl = await raw.send(new DescribeTimeToLiveCommand({ TableName: table }));
      expect(ttl.TimeToLiveDescription).toMatchObject({
        AttributeName: 'expires_at',
        TimeToLiveStatus: 'ENABLED',
      });
      const d = await raw.send(new DescribeTableCommand({ TableName: table }));
      expect(d.Table?.StreamSpecification).toMatchObject({
        StreamEnabled: true,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      });
    }
    const j = job('ttl-tenant');
    await store.jobs.create(j);
    const item = await raw.send(
      new GetItemCommand({ TableName: tables.jobs, Key: { job_id: { S: j.jobId } } }),
    );
    expect(item.Item).toMatchObject({
      job_id: { S: j.jobId },
      tenant_id: { S: 'ttl-tenant' },
      status: { S: 'QUEUED' },
      tenant_status: { S: 'ttl-tenant#QUEUED' },
      submitted_at: { S: j.submittedAt },
      expires_at: { N: String(Math.ceil(Date.parse(j.expiresAt) / 1000)) },
    });
    expect(item.Item).not.toHaveProperty('lease_expires_at');
  });

  it('a status change moves the job between status listings; a lease enters and leaves the lease index', async () => {
    const j = job('status-tenant');
    await store.jobs.create(j);
    const lease = new Date(Date.now() + 30_000).toISOString();
    await store.jobs.transition('status-tenant', j.jobId, ['QUEUED'], {
      status: 'RUNNING',
      leaseOwner: 'w1',
      leaseExpiresAt: lease,
    });
    const ids = async (status: JobStatus) =>
      (await store.jobs.list('status-tenant', { status }, { limit: 10 })).items.map((x) => x.jobId);
    expect(await ids('RUNNING')).toEqual([j.jobId]);
    expect(await ids('QUEUED')).toEqual([]);
    const raw1 = await raw.send(
      new GetItemCommand({ TableName: tables.jobs, Key: { job_id: { S: j.jobId } } }),
    );
    expect(raw1.Item?.lease_expires_at).toEqual({ S: lease });
    await store.jobs.transition('status-tenant', j.jobId, ['RUNNING'], {
      status: 'QUEUED',
      leaseOwner: null,
      leaseExpiresAt: null,
    });
    const raw2 = await raw.send(
      new GetItemCommand({ TableName: tables.jobs, Key: { job_id: { S: j.jobId } } }),
    );
    expect(raw2.Item).not.toHaveProperty('lease_expires_at');
    expect(raw2.Item?.status).toEqual({ S: 'QUEUED' });
  });

  it('a lease-guarded transition only succeeds for the lease owner', async () => {
    const j = job('lease-tenant');
    await store.jobs.create(j);
    await store.jobs.transition('lease-tenant', j.jobId, ['QUEUED'], { status: 'RUNNING', leaseOwner: 'w1' });
    const e = await store.jobs
      .transition('lease-tenant', j.jobId, ['RUNNING'], { status: 'COMPLETED' }, { leaseOwner: 'w2' })
      .catch((x) => x);
    expect([e.code, e.message]).toEqual(['CONFLICT', 'the job is held by another worker']);
    const done = await store.jobs.transition(
      'lease-tenant',
      j.jobId,
      ['RUNNING'],
      { status: 'COMPLETED' },
      { leaseOwner: 'w1' },
    );
    expect(done.status).toBe('COMPLETED');
  });

  it('a cursor is read against the caller’s tenant: a forged one cannot reach another tenant’s jobs', async () => {
    const victim = job('victim-tenant', { submittedAt: '2030-01-01T00:00:00.000Z' });
    await store.jobs.create(victim);
    // Everything a cursor can hold: a time and a job id. Forge one that sorts after the victim's job.
    const forged = Buffer.from(JSON.stringify(['2031-01-01T00:00:00.000Z', 'job-zzz'])).toString('base64url');
    const seen = await store.jobs.list('attacker-tenant', {}, { limit: 10, cursor: forged });
    expect(seen.items).toEqual([]);
  });

  it('the stream worker runs a queued job item and ignores the tenant counter item written with it', async () => {
    const j = job('stream-tenant');
    await store.jobs.create(j);
    const image = async (jobId: string) =>
      (await raw.send(new GetItemCommand({ TableName: tables.jobs, Key: { job_id: { S: jobId } } }))).Item;
    const record = async (jobId: string) =>
      runnableJob({ eventName: 'INSERT', dynamodb: { NewImage: (await image(jobId)) as never } });
    expect(await record(j.jobId)).toEqual({ tenantId: 'stream-tenant', jobId: j.jobId });
    const counter = await image('#tenant#stream-tenant');
    expect(counter).toMatchObject({ queue_state: { S: 'QUEUED' }, counter_tenant: { S: 'stream-tenant' } });
    expect(await record('#tenant#stream-tenant')).toEqual({ skip: 'not-runnable' });
  });

  it('the tenant counter follows RUNNING jobs exactly: cancel, finish and lease expiry free a slot of the cap', async () => {
    const tenant = `cap-${crypto.randomUUID().slice(0, 6)}`;
    const jobs = Array.from({ length: 5 }, (_, i) =>
      job(tenant, { submittedAt: new Date(Date.now() + i).toISOString() }),
    );
    for (const j of jobs) await store.jobs.create(j);
    const claim = (j: QueryJob, ms = 30_000) => store.jobQueue.claim(tenant, j.jobId, { owner: 'w', ms }, 2);
    const running = async () =>
      (await store.jobQueue.heads({ perTenant: 1, maxTenants: 1000 })).find((h) => h.tenantId === tenant)
        ?.running;
    expect(await claim(jobs[0]!)).not.toBeNull();
    expect(await claim(jobs[1]!, 1)).not.toBeNull();
    expect(await claim(jobs[2]!)).toBeNull(); // at the cap
    await store.jobs.transition(tenant, jobs[0]!.jobId, ['QUEUED', 'RUNNING'], { status: 'CANCELLED' });
    expect(await running()).toBe(1);
    expect(await claim(jobs[2]!)).not.toBeNull();
    await store.jobs.transition(
      tenant,
      jobs[2]!.jobId,
      ['RUNNING'],
      { status: 'COMPLETED' },
      { leaseOwner: 'w' },
    );
    await new Promise((r) => setTimeout(r, 20));
    const { requeued } = await store.jobQueue.requeueExpired(3, 100);
    expect(requeued.map((j) => j.jobId)).toContain(jobs[1]!.jobId);
    expect(await running()).toBe(0);
    expect(await claim(jobs[3]!)).not.toBeNull();
    expect(await claim(jobs[4]!)).not.toBeNull();
    expect(await claim(jobs[1]!)).toBeNull();
    expect(
      (await store.stats.activeJobCounts()).find((c) => c.status === 'RUNNING')?.count,
    ).toBeGreaterThanOrEqual(2);
  });

  it('a missing table → WAREHOUSE_UNAVAILABLE from ping, naming `spectra aws init`', async () => {
    const lost = new DynamoStateStore({
      tables: stateTableNames(uniqueTablePrefix('absent')),
      clientConfig: dynamoClientConfig(await dynamoEndpoint()),
    });
    const e = await lost.ping().catch((x) => x);
    expect([e.code, e.retryAfterSeconds]).toEqual(['WAREHOUSE_UNAVAILABLE', 5]);
    expect(e.details.hint).toMatch(/spectra aws init/);
    await lost.close();
  });
});
