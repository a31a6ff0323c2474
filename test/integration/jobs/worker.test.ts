/**
 * The job worker against the real PostgreSQL and real files: transient warehouse errors are
 * retried with backoff, permanent ones fail at once, a stopping worker hands its jobs back, and
 * retention removes expired results (hidden from reads even before the sweeper runs).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import type { Principal } from '../../../src/domain/principal.js';
import { JobService } from '../../../src/services/job-service.js';
import { defaultGuardPolicy, initSqlGuard, Planner } from '../../../src/sql/index.js';
import { PostgresStateStore } from '../../../src/state/postgres/index.js';
import { FsResultStore } from '../../../src/storage/fs/index.js';
import type { Warehouse } from '../../../src/warehouse/port.js';
import { PostgresWarehouse } from '../../../src/warehouse/postgres/index.js';
import { JobWorker, type JobWorkerOptions, RetentionSweeper } from '../../../src/worker/index.js';
import { type ControlDb, createControlDb } from '../../helpers/control-db.js';
import { pgFacts } from '../../helpers/pg-fixture.js';
import { WAIT_TIMEOUT_MS, waitFor } from '../../helpers/time.js';

let control: ControlDb;
let state: PostgresStateStore;
let warehouse: PostgresWarehouse;
let results: FsResultStore;
let resultRoot: string;
let jobs: JobService;
let principal: Principal;
/** When set, the job service reads results as at this instant. */
let readsAt: number | undefined;
const workers: JobWorker[] = [];
const silent = { info() {}, warn() {}, error() {}, debug() {} };

beforeAll(async () => {
  const f = pgFacts();
  await initSqlGuard();
  control = await createControlDb('worker');
  state = new PostgresStateStore({ connectionString: control.url, poolSize: 10 });
  await state.migrate();
  warehouse = new PostgresWarehouse({
    host: f.host,
    port: f.port,
    user: f.authenticator.user,
    password: f.authenticator.password,
    database: f.warehouseDb,
    poolSize: 6,
  });
  resultRoot = await mkdtemp(path.join(os.tmpdir(), 'spectra-worker-'));
  results = new FsResultStore({ root: resultRoot, signingKey: 's'.repeat(40) });
  const acme = f.tenants.find((t) => t.tenantId === 'acme')!;
  const now = new Date().toISOString();
  await state.tenants.create({
    tenantId: 'acme',
    name: 'acme',
    dbUser: acme.dbUser,
    dbGroups: [],
    status: 'active',
    defaultPermissions: ['query:*'],
    createdAt: now,
    updatedAt: now,
  });
  principal = {
    tenantId: 'acme',
    dbUser: acme.dbUser,
    dbGroups: [],
    permissions: ['query:*'],
    authMethod: 'api_key',
    credentialId: 'test',
  };
  jobs = new JobService({
    state,
    warehouse,
    results,
    planner: new Planner(defaultGuardPolicy()),
    settings: {
      defaultTimeoutSeconds: 60,
      maxTimeoutSeconds: 300,
      jobTtlDays: 7,
      maxPageRows: 10_000,
      resultSizeThreshold: 10_000,
      downloadUrlExpirySeconds: 60,
      parquetRowGroupRows: 100_000,
    },
    now: () => readsAt ?? Date.now(),
  });
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop();
});
afterAll(async () => {
  await state?.close();
  await warehouse?.close();
  await control?.drop();
  await rm(resultRoot, { recursive: true, force: true });
});

function startWorker(over: Partial<JobWorkerOptions> = {}): JobWorker {
  const w = new JobWorker({
    state,
    warehouse,
    results,
    log: silent,
    concurrency: 2,
    tenantCap: () => 5,
    // Long enough that a starved event loop never loses a lease by accident; no test here waits one out.
    leaseMs: 30_000,
    maxAttempts: 3,
    pollIntervalMs: 100,
    retryBaseMs: 20,
    resultTtlMs: 3_600_000,
    parquetRowGroupRows: 100_000,
    ...over,
  });
  workers.push(w);
  void w.start();
  return w;
}

/** The real warehouse, failing the first `failures` statements with `error`. */
function flaky(failures: number, error: () => Error): Warehouse & { calls: number } {
  const wrapper = {
    calls: 0,
    execute: (...args: Parameters<Warehouse['execute']>) => {
      wrapper.calls++;
      if (wrapper.calls <= failures) return Promise.reject(error());
      return warehouse.execute(...args);
    },
    cancel: (ref: string) => warehouse.cancel(ref),
    ping: () => warehouse.ping(),
    close: async () => {},
  };
  return wrapper;
}

async function settle(jobId: string, statuses = ['COMPLETED', 'FAILED', 'CANCELLED']) {
  await expect
    .poll(async () => (await state.jobs.get('acme', jobId))?.status, {
      timeout: WAIT_TIMEOUT_MS,
      interval: 20,
    })
    .toSatisfy((s: string) => statuses.includes(s));
  return (await state.jobs.get('acme', jobId))!;
}

const unavailable = () => new ApiError('WAREHOUSE_UNAVAILABLE', 'the warehouse cannot be reached', {}, 5);

describe('failures', () => {
  it('retries a transient warehouse error with backoff and completes on a later attempt', async () => {
    const wh = flaky(2, unavailable);
    startWorker({ warehouse: wh });
    const job = await jobs.submit(principal, { sql: 'SELECT 7 AS seven', params: {} });
    const done = await settle(job.jobId);
    expect(done.status).toBe('COMPLETED');
    expect(done.attempts).toBe(3);
    expect(wh.calls).toBe(3);
    expect(done.rowCount).toBe(1);
  });

  it('fails with the last transient error once the attempts are used up', async () => {
    startWorker({ warehouse: flaky(100, unavailable), maxAttempts: 2 });
    const job = await jobs.submit(principal, { sql: 'SELECT 8 AS eight', params: {} });
    const done = await settle(job.jobId);
    expect(done).toMatchObject({ status: 'FAILED', attempts: 2 });
    expect(done.error?.code).toBe('WAREHOUSE_UNAVAILABLE');
  });

  it('treats a serialization failure as transient but a statement error as permanent', async () => {
    const serialization = () =>
      new ApiError('QUERY_FAILED', 'could not serialize access', { sqlstate: '40001' });
    const wh = flaky(1, serialization);
    startWorker({ warehouse: wh });
    const retried = await settle(
      (await jobs.submit(principal, { sql: 'SELECT 9 AS nine', params: {} })).jobId,
    );
    expect(retried).toMatchObject({ status: 'COMPLETED', attempts: 2 });

    const broken = await jobs.submit(principal, { sql: "SELECT CAST('x' AS integer) AS n", params: {} });
    const failed = await settle(broken.jobId);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(failed.error).toMatchObject({ code: 'QUERY_FAILED', details: { sqlstate: '22P02' } });
    expect(await results.list(`acme/${broken.jobId}/`)).toEqual([]);
  });
});

describe('shutdown', () => {
  it('hands a running job back to the queue when the worker stops, and another worker finishes it', async () => {
    const w1 = startWorker();
    const job = await jobs.submit(principal, {
      sql: 'SELECT count(*) AS n FROM (SELECT generate_series(1, 100000000000) AS g) s',
      params: {},
      timeoutSeconds: 3,
    });
    await settle(job.jobId, ['RUNNING']);
    await w1.stop(0);
    const back = (await state.jobs.get('acme', job.jobId))!;
    expect(back).toMatchObject({ status: 'QUEUED', leaseOwner: null, attempts: 1 });
    startWorker();
    const done = await settle(job.jobId);
    // The statement's own 3 s timeout ends it on the second attempt: a permanent failure.
    expect(done).toMatchObject({ status: 'FAILED', attempts: 2 });
    expect(done.error?.code).toBe('QUERY_TIMEOUT');
  });
});

describe('retention', () => {
  it('hides expired results at once, then the sweeper deletes their files', async () => {
    startWorker({ resultTtlMs: 300 });
    const job = await jobs.submit(principal, { sql: 'SELECT 10 AS ten', params: {} });
    const done = await settle(job.jobId);
    expect(done.status).toBe('COMPLETED');
    // Read as at completion (a slow machine may already be past the 300 ms), then once it has passed.
    readsAt = Date.parse(done.completedAt!);
    const page = await jobs.results(principal, job.jobId, {});
    readsAt = undefined;
    expect(page.kind).toBe('page');
    const expiresAt = Date.parse(done.result!.expiresAt);
    await waitFor(() => Date.now() > expiresAt);
    await expect(jobs.results(principal, job.jobId, {})).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { reason: 'expired' },
    });
    expect(await results.list(`acme/${job.jobId}/`)).toHaveLength(1);
    const sweeper = new RetentionSweeper({ state, results, log: silent, intervalMs: 60_000 });
    const counts = await sweeper.sweepOnce();
    expect(counts.results).toBeGreaterThanOrEqual(1);
    expect(await results.list(`acme/${job.jobId}/`)).toEqual([]);
    expect((await state.jobs.get('acme', job.jobId))?.result).toBeNull();
  });
});

describe('critical path of a job', () => {
  it('a queued job is claimed when its submission is notified, not at the next poll', async () => {
    // A poll interval no test outlives: only the queue notification can start the job.
    startWorker({ pollIntervalMs: 3_600_000 });
    const job = await jobs.submit(principal, { sql: 'SELECT 11 AS eleven', params: {} });
    const done = await settle(job.jobId);
    expect(done.status).toBe('COMPLETED');
    expect(done.rowCount).toBe(1);
  });

  it('an idle worker claims the job its notification names without reading the queue heads', async () => {
    // A queue whose heads are always empty and a poll no test outlives: only the named claim can start it.
    const blind = Object.create(state) as PostgresStateStore;
    const queue = Object.create(state.jobQueue) as PostgresStateStore['jobQueue'];
    let headReads = 0;
    queue.heads = async () => {
      headReads++;
      return [];
    };
    // How many times the heads had been read at each claim (a finished job wakes another scan).
    const readsAtClaim: number[] = [];
    queue.claim = async (...args) => {
      readsAtClaim.push(headReads);
      return state.jobQueue.claim(...args);
    };
    Object.defineProperty(blind, 'jobQueue', { value: queue });
    startWorker({ state: blind, pollIntervalMs: 3_600_000 });
    await waitFor(() => headReads === 1); // the scan every worker makes once it listens
    const job = await jobs.submit(principal, { sql: 'SELECT 14 AS fourteen', params: {} });
    const done = await settle(job.jobId);
    expect(done.status).toBe('COMPLETED');
    expect(readsAtClaim).toEqual([1]);
  });

  it('a named claim it loses is followed by a scan of the queue', async () => {
    // The first claim "loses" (as to another worker) without touching the job: the scan after it
    // must find the job, since no poll comes.
    const losing = Object.create(state) as PostgresStateStore;
    const queue = Object.create(state.jobQueue) as PostgresStateStore['jobQueue'];
    let headReads = 0;
    queue.heads = async (opts) => {
      headReads++;
      return state.jobQueue.heads(opts);
    };
    const readsAtClaim: number[] = [];
    queue.claim = async (...args) => {
      readsAtClaim.push(headReads);
      return readsAtClaim.length === 1 ? null : state.jobQueue.claim(...args);
    };
    Object.defineProperty(losing, 'jobQueue', { value: queue });
    startWorker({ state: losing, pollIntervalMs: 3_600_000 });
    await waitFor(() => headReads === 1);
    const job = await jobs.submit(principal, { sql: 'SELECT 15 AS fifteen', params: {} });
    const done = await settle(job.jobId);
    expect(done.status).toBe('COMPLETED');
    // The named claim before any further read, then the scan's claim after one.
    expect(readsAtClaim).toEqual([1, 2]);
  });

  it('the tenant is read beside the claim, not after it', async () => {
    // A queue whose claims go through only once the job's tenant has been read: a worker that read
    // the tenant after claiming would wait forever.
    let looked!: () => void;
    const tenantRead = new Promise<void>((resolve) => {
      looked = resolve;
    });
    const gated = Object.create(state) as PostgresStateStore;
    Object.defineProperty(gated, 'tenants', {
      value: {
        ...state.tenants,
        get: (id: string) => {
          looked();
          return state.tenants.get(id);
        },
      },
    });
    const queue = Object.create(state.jobQueue) as PostgresStateStore['jobQueue'];
    queue.claim = async (...args) => {
      await tenantRead;
      return state.jobQueue.claim(...args);
    };
    Object.defineProperty(gated, 'jobQueue', { value: queue });
    startWorker({ state: gated });
    const job = await jobs.submit(principal, { sql: 'SELECT 13 AS thirteen', params: {} });
    const done = await settle(job.jobId);
    expect(done.status).toBe('COMPLETED');
  });

  it('the result file opens while the statement starts, not before it', async () => {
    // A result store whose files open only once the warehouse has the statement: a worker that
    // opened the file first would wait forever.
    let started!: () => void;
    const statementStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const gatedResults = Object.create(results) as FsResultStore;
    gatedResults.createWriter = async (key) => {
      await statementStarted;
      return results.createWriter(key);
    };
    const wh = flaky(0, unavailable);
    const execute = wh.execute;
    wh.execute = (...args) => {
      started();
      return execute(...args);
    };
    startWorker({ warehouse: wh, results: gatedResults });
    const job = await jobs.submit(principal, { sql: 'SELECT 12 AS twelve', params: {} });
    const done = await settle(job.jobId);
    expect(done.status).toBe('COMPLETED');
    const page = await jobs.results(principal, job.jobId, {});
    expect(page.kind === 'page' && page.rows).toEqual(['{"twelve":12}']);
  });
});
