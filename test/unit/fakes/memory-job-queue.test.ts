/**
 * The in-memory job queue the worker's unit tests run on, held to the same job-queue contract as
 * every StateStore adapter, so a lifecycle test on it means what it would mean on a real store.
 */
import { jobQueueContract, type QueueKind } from '../../contracts/job-queue-contract.js';
import { type MemoryJob, MemoryJobQueue, type MemoryJobState } from '../../fakes/memory-job-queue.js';

const DAY = 86_400_000;

const memoryJobs: QueueKind<MemoryJob> = {
  name: 'memory jobs',
  stateField: 'state',
  states: { queued: 'queued', running: 'running', done: 'done', cancelled: 'cancelled', failed: 'failed' },
  newJob: (tenantId, id, at) => ({
    tenantId,
    jobId: `mem-${id}`,
    attempts: 0,
    state: 'queued',
    queuedAt: at.queuedAt.toISOString(),
    notBefore: at.notBefore?.toISOString() ?? null,
    expiresAt: (at.expiresAt ?? new Date(Date.now() + DAY)).toISOString(),
    leaseOwner: null,
    leaseExpiresAt: null,
    rowsFetched: 0,
    error: null,
  }),
  progressOf: (job) => ({ rowsFetched: job.rowsFetched }),
  countsFailedRows: false,
};

jobQueueContract('MemoryJobQueue', memoryJobs, async () => {
  const queue = new MemoryJobQueue();
  return {
    queue,
    create: (job) => queue.create(job),
    get: (tenantId, jobId) => queue.get(tenantId, jobId),
    move: (tenantId, jobId, from, to, guard) =>
      queue.transition(tenantId, jobId, from as MemoryJobState[], { state: to as MemoryJobState }, guard),
    close: async () => {},
  };
});
