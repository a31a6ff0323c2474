/**
 * The job kinds a StateStore keeps, as the job-queue contract drives them (state names, record
 * factory, progress fields), and `jobQueueContracts(name, factory)`: the contract for every kind
 * against one StateStore adapter.
 */
import type { BulkJob, BulkJobState } from '../../src/domain/bulk-job.js';
import type { JobStatus } from '../../src/domain/query-job.js';
import { type QueryJob, UNLIMITED_ROWS } from '../../src/domain/query-job.js';
import type { StateStore } from '../../src/state/port.js';
import { queuedQueryJob } from '../helpers/query-job-fixture.js';
import { jobQueueContract, type QueueKind, type QueueUnderTest } from './job-queue-contract.js';
import type { StateFactory } from './state-contract.js';

const DAY = 86_400_000;

export const queryJobs: QueueKind<QueryJob> = {
  name: 'query jobs',
  stateField: 'status',
  states: {
    queued: 'QUEUED',
    running: 'RUNNING',
    done: 'COMPLETED',
    cancelled: 'CANCELLED',
    failed: 'FAILED',
  },
  newJob: (tenantId, id, at) =>
    queuedQueryJob(tenantId, {
      jobId: `job-${id}`,
      plannedSql: 'SELECT 1',
      rowLimit: UNLIMITED_ROWS,
      submittedAt: at.queuedAt.toISOString(),
      submittedBy: 'test',
      expiresAt: (at.expiresAt ?? new Date(Date.now() + DAY)).toISOString(),
      dbUser: 'tenant_x',
      notBefore: at.notBefore?.toISOString() ?? null,
    }),
  progressOf: (job) => ({ rowsFetched: job.rowsFetched }),
  countsFailedRows: false,
};

export const bulkJobs: QueueKind<BulkJob> = {
  name: 'bulk jobs',
  stateField: 'state',
  states: {
    draft: 'Open',
    queued: 'UploadComplete',
    running: 'InProgress',
    done: 'JobComplete',
    cancelled: 'Aborted',
    failed: 'Failed',
  },
  newJob: (tenantId, id, at) => ({
    jobId: `bulk-${id}`,
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
    state: at.draft ? 'Open' : 'UploadComplete',
    dbUser: 'tenant_x',
    createdBy: 'test',
    createdAt: at.queuedAt.toISOString(),
    updatedAt: at.queuedAt.toISOString(),
    queuedAt: at.draft ? null : at.queuedAt.toISOString(),
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
    notBefore: at.notBefore?.toISOString() ?? null,
    expiresAt: (at.expiresAt ?? new Date(Date.now() + DAY)).toISOString(),
    version: 1,
  }),
  progressOf: (job) => ({ rowsFetched: job.recordsProcessed, rowsFailed: job.recordsFailed }),
  countsFailedRows: true,
};

type Records<J extends QueryJob | BulkJob> = Omit<QueueUnderTest<J>, 'close'>;

function queryQueue(store: StateStore): Records<QueryJob> {
  return {
    queue: store.jobQueue,
    create: (job) => store.jobs.create(job),
    get: (tenantId, jobId) => store.jobs.get(tenantId, jobId),
    move: (tenantId, jobId, from, to, guard) =>
      store.jobs.transition(tenantId, jobId, from as JobStatus[], { status: to as JobStatus }, guard),
  };
}

function bulkQueue(store: StateStore): Records<BulkJob> {
  const bulk = store.bulk;
  if (!bulk) throw new Error('this StateStore keeps no bulk jobs');
  return {
    queue: bulk.queue,
    create: (job) => bulk.jobs.create(job),
    get: (tenantId, jobId) => bulk.jobs.get(tenantId, jobId),
    move: (tenantId, jobId, from, to, guard) =>
      bulk.jobs.transition(tenantId, jobId, from as BulkJobState[], { state: to as BulkJobState }, guard),
  };
}

/** The job-queue contract for query jobs and bulk jobs on one StateStore adapter. */
export function jobQueueContracts(name: string, factory: StateFactory): void {
  jobQueueContract(name, queryJobs, async () => {
    const { store, close } = await factory();
    return { ...queryQueue(store), close };
  });
  jobQueueContract(name, bulkJobs, async () => {
    const { store, close } = await factory();
    return { ...bulkQueue(store), close };
  });
}
