/**
 * JobRun<J> over a tiny job kind on an in-memory queue: the lifecycle every kind shares (tenant
 * check, failure classification, requeue, lease loss) without a database.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import type { Tenant } from '../../../src/domain/tenant.js';
import type { JobExecution, JobKind, RunEnd, WorkerLog } from '../../../src/worker/index.js';
import { claimable, type JobRunDeps } from '../../../src/worker/index.js';
import { type MemoryJob, MemoryJobQueue } from '../../fakes/memory-job-queue.js';

type Progress = { rowsFetched: number };
type Body = (job: MemoryJob, run: JobExecution<Progress>) => Promise<string>;

/** A job kind whose body is the test's, recording its moves in the memory queue. */
function noteKind(
  queue: MemoryJobQueue,
  body: Body,
  completed: string[],
): JobKind<MemoryJob, string, Progress> {
  return {
    name: 'note',
    noun: 'note job',
    queue,
    inactiveTenantMessage: 'the tenant is not active',
    newProgress: () => ({ rowsFetched: 0 }),
    heartbeat: (p) => ({ rowsFetched: p.rowsFetched }),
    execute: body,
    async complete(job, result, run) {
      await queue.transition(
        job.tenantId,
        job.jobId,
        ['running'],
        { state: 'done', leaseOwner: null },
        run.guard,
      );
      completed.push(result);
    },
    async requeue(job, notBefore, guard) {
      await queue.transition(
        job.tenantId,
        job.jobId,
        ['running'],
        { state: 'queued', notBefore, leaseOwner: null },
        guard,
      );
    },
    async fail(job, error, run) {
      await queue.transition(
        job.tenantId,
        job.jobId,
        ['running'],
        { state: 'failed', error, leaseOwner: null },
        run.guard,
      );
    },
    recordStatement: async () => {},
  };
}

const silent: WorkerLog = { info() {}, warn() {}, error() {}, debug() {} };

function tenant(tenantId: string, status: Tenant['status']): Tenant {
  const at = new Date(0).toISOString();
  return {
    tenantId,
    name: tenantId,
    dbUser: tenantId,
    dbGroups: [],
    status,
    defaultPermissions: [],
    createdAt: at,
    updatedAt: at,
  };
}

function setup(
  body: Body,
  opts: { status?: Tenant['status']; maxAttempts?: number; leaseMs?: number; tenantsDown?: boolean } = {},
) {
  const queue = new MemoryJobQueue();
  const completed: string[] = [];
  const tenants = new Map([['t1', tenant('t1', opts.status ?? 'active')]]);
  const deps: JobRunDeps = {
    state: {
      tenants: {
        get: async (id) => {
          if (opts.tenantsDown)
            throw new ApiError('WAREHOUSE_UNAVAILABLE', 'control state store unavailable');
          return tenants.get(id) ?? null;
        },
      },
    },
    log: silent,
    leaseMs: opts.leaseMs ?? 60_000,
    maxAttempts: opts.maxAttempts ?? 3,
    retryBaseMs: 0,
  };
  const kind = claimable(noteKind(queue, body, completed), deps);
  const runOnce = async (owner = 'w1'): Promise<RunEnd | null> => {
    const claimed = await kind.claim('t1', 'j1', { owner, ms: deps.leaseMs }, 10);
    return claimed ? claimed.start().run() : null;
  };
  queue.add('t1', 'j1');
  return { queue, completed, runOnce, job: () => queue.record('t1', 'j1') };
}

describe('JobRun<J>', () => {
  it('completes through the kind and records the result under the lease', async () => {
    const { runOnce, job, completed } = setup(async () => 'ok');
    expect(await runOnce()).toBe('COMPLETED');
    expect(job().state).toBe('done');
    expect(completed).toEqual(['ok']);
  });

  it('fails a job of a suspended tenant with FORBIDDEN, without running its body', async () => {
    let ran = false;
    const { runOnce, job } = setup(
      async () => {
        ran = true;
        return 'ok';
      },
      { status: 'suspended' },
    );
    expect(await runOnce()).toBe('FAILED');
    expect(ran).toBe(false);
    expect(job().state).toBe('failed');
    expect(job().error).toMatchObject({ code: 'FORBIDDEN', message: 'the tenant is not active' });
  });

  it('re-queues a job whose tenant cannot be read (the state store is down), without running its body', async () => {
    let ran = false;
    const { runOnce, job } = setup(
      async () => {
        ran = true;
        return 'ok';
      },
      { tenantsDown: true },
    );
    expect(await runOnce()).toBe('REQUEUED');
    expect(ran).toBe(false);
    expect(job()).toMatchObject({ state: 'queued', attempts: 1, leaseOwner: null });
  });

  it('re-queues a transient failure, claims it again as attempt + 1, and fails it once out of attempts', async () => {
    const attempts: number[] = [];
    const { runOnce, job } = setup(
      async (j) => {
        attempts.push(j.attempts);
        throw new ApiError('WAREHOUSE_UNAVAILABLE', 'warehouse down');
      },
      { maxAttempts: 2 },
    );
    expect(await runOnce()).toBe('REQUEUED');
    expect(job()).toMatchObject({ state: 'queued', attempts: 1, leaseOwner: null });
    expect(await runOnce()).toBe('FAILED');
    expect(attempts).toEqual([1, 2]);
    expect(job()).toMatchObject({ state: 'failed', attempts: 2, error: { code: 'WAREHOUSE_UNAVAILABLE' } });
  });

  it('fails a statement error at once, without another attempt', async () => {
    const { runOnce, job } = setup(async () => {
      throw new ApiError('QUERY_FAILED', 'division by zero', { sqlstate: '22012' });
    });
    expect(await runOnce()).toBe('FAILED');
    expect(job()).toMatchObject({ state: 'failed', attempts: 1, error: { details: { sqlstate: '22012' } } });
  });

  it('stops without recording anything when its lease is lost (another worker holds the job)', async () => {
    const setupResult = setup(
      (j, run) =>
        new Promise<string>((_, reject) => {
          // Another worker took the job over (our lease lapsed): the next renewal finds it gone.
          setupResult.queue.record(j.tenantId, j.jobId).leaseOwner = 'w2';
          run.signal.addEventListener('abort', () => reject(run.signal.reason));
        }),
      { leaseMs: 150 },
    );
    const { runOnce, job, completed } = setupResult;
    expect(await runOnce()).toBe('STOPPED');
    expect(job()).toMatchObject({ state: 'running', leaseOwner: 'w2' });
    expect(completed).toEqual([]);
  });
});
