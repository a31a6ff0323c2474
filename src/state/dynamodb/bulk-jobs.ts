/**
 * Bulk jobs on DynamoDB (the bulk-jobs table, tables.ts): records, conditional moves, listing by
 * tenant newest first with state/operation filters, the queue and retention. The job items and the
 * queue are job-queue.ts's, over the bulk kind (UploadComplete is its QUEUED, InProgress its
 * RUNNING): a move into or out of InProgress updates the tenant's counter item in the jobs table in
 * the same transaction, so query and bulk jobs share one RUNNING cap.
 *
 * Items keep the domain record in `doc`; `state`, `tenant_id` and `job_id` sit at the top level,
 * where the stream filter of the worker Lambda reads them (WORKER_TRIGGERS), beside the index keys
 * (`tenant_state`, `created_at`, `queued_at`, `lease_expires_at`) and the TTL `expires_at`.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { BulkJob, BulkJobState, BulkOperation } from '../../domain/bulk-job.js';
import { invalidRequest } from '../../domain/errors.js';
import type {
  BulkJobPatch,
  BulkJobStore,
  BulkRetentionStore,
  BulkStateStores,
  Page,
  PageRequest,
  TransitionGuard,
} from '../port.js';
import { transitionFailure } from '../transition-failure.js';
import { collect, decodeCursor, encodeCursor } from './calls.js';
import { DynamoJobQueue, deleteExpiredJobItems, type JobItemKind, JobItems } from './job-queue.js';
import { STATE_TABLES } from './tables.js';

const [BY_TENANT_CREATED, BY_TENANT_STATE, BY_TENANT_QUEUED, BY_STATE_LEASE] =
  STATE_TABLES.bulkJobs.indexes.map((i) => i.name) as [string, string, string, string];
const BY_BULK_QUEUED_TENANT = STATE_TABLES.jobs.indexes[4].name;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** Items read per page when the operation filter (a FilterExpression) may skip many. */
const FILTERED_PAGE = 100;

/** The bulk kind. A job enters the queue with its `queuedAt` (the service sets it with UploadComplete): its `queued_at` orders the queue. */
export const BULK_JOB_ITEMS: JobItemKind<BulkJob, BulkJobState> = {
  stateField: 'state',
  tenantStateAttribute: 'tenant_state',
  queued: 'UploadComplete',
  running: 'InProgress',
  failed: 'Failed',
  cancelled: 'Aborted',
  indexedFields: { createdAt: 'created_at', queuedAt: 'queued_at', leaseExpiresAt: 'lease_expires_at' },
  stateIndex: BY_TENANT_STATE,
  queueIndex: BY_TENANT_QUEUED,
  queueOrderAttribute: 'queued_at',
  leaseIndex: BY_STATE_LEASE,
  flag: { attribute: 'bulk_queue_state', mark: 'bulk_queue_mark', index: BY_BULK_QUEUED_TENANT },
  claimResets: { statementRef: null, recordsProcessed: 0, recordsFailed: 0, notBefore: null },
  progressFields: (p) => ({ recordsProcessed: p.rowsFetched, recordsFailed: p.rowsFailed ?? 0 }),
  stampsUpdatedAt: true,
  stateOf: (job) => job.state,
};

type BulkItems = JobItems<BulkJob, BulkJobState, BulkJobPatch>;

const nowSeconds = () => Math.floor(Date.now() / 1000);
const alive = (job: BulkJob) => Date.parse(job.expiresAt) > Date.now();

/** The Bulk API's stores on the bulk-jobs table, with the tenant counters of the jobs table. */
export function dynamoBulkStores(
  db: DynamoDBDocumentClient,
  tables: { bulkJobs: string; jobs: string },
): BulkStateStores {
  const items: BulkItems = new JobItems(db, tables.bulkJobs, BULK_JOB_ITEMS, tables.jobs);
  return {
    jobs: new DynamoBulkJobs(db, items),
    queue: new DynamoJobQueue(db, items),
    retention: {
      deleteExpired: (limit) => deleteExpiredJobItems(db, tables.bulkJobs, BULK_JOB_ITEMS, limit),
    } satisfies BulkRetentionStore,
  };
}

export class DynamoBulkJobs implements BulkJobStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly items: BulkItems,
  ) {}

  create(job: BulkJob): Promise<void> {
    return this.items.create(job);
  }

  async get(tenantId: string, jobId: string): Promise<BulkJob | null> {
    const job = this.items.docOf(await this.items.read(jobId));
    // Another tenant's job is indistinguishable from no job.
    return job && job.tenantId === tenantId && alive(job) ? job : null;
  }

  async transition(
    tenantId: string,
    jobId: string,
    from: readonly BulkJobState[],
    patch: BulkJobPatch,
    guard: TransitionGuard = {},
  ): Promise<BulkJob> {
    const updated = await this.items.update(tenantId, jobId, from, patch, { guard });
    if (updated) return updated;
    throw transitionFailure('bulk job', await this.get(tenantId, jobId), from, guard);
  }

  async list(
    tenantId: string,
    filter: { state?: BulkJobState | undefined; operation?: BulkOperation | undefined },
    page: PageRequest,
  ): Promise<Page<BulkJob>> {
    let after: { createdAt: string; jobId: string } | undefined;
    if (page.cursor) {
      const [createdAt, jobId] = decodeCursor(page.cursor, 2);
      if (!ISO_UTC.test(createdAt!) || Number.isNaN(Date.parse(createdAt!)))
        throw invalidRequest('malformed cursor', { field: 'cursor' });
      after = { createdAt: createdAt!, jobId: jobId! };
    }
    const byState = filter.state !== undefined;
    // The partition is the caller's tenant: a cursor only says where to resume inside it.
    const partition: Record<string, string> = byState
      ? { tenant_state: `${tenantId}#${filter.state}` }
      : { tenant_id: tenantId };
    const [partitionName, partitionValue] = Object.entries(partition)[0]!;
    const startKey = after ? { ...partition, created_at: after.createdAt, job_id: after.jobId } : undefined;
    let filterExpression = 'expires_at > :now';
    const values: Record<string, unknown> = { ':p': partitionValue, ':now': nowSeconds() };
    if (filter.operation !== undefined) {
      filterExpression += ' AND doc.#operation = :op';
      values[':op'] = filter.operation;
    }
    const items = await collect(
      (start, limit) =>
        this.db.send(
          new QueryCommand({
            TableName: this.items.table,
            IndexName: byState ? BY_TENANT_STATE : BY_TENANT_CREATED,
            KeyConditionExpression: `${partitionName} = :p`,
            FilterExpression: filterExpression,
            ...(filter.operation !== undefined
              ? { ExpressionAttributeNames: { '#operation': 'operation' } }
              : {}),
            ExpressionAttributeValues: values,
            ScanIndexForward: false,
            // The limit applies before the filter: a selective filter reads bigger pages.
            ...(limit
              ? { Limit: filter.operation !== undefined ? Math.max(limit, FILTERED_PAGE) : limit }
              : {}),
            ...((start ?? startKey) ? { ExclusiveStartKey: start ?? startKey } : {}),
          }),
        ),
      page.limit + 1,
    );
    const pageItems = items.slice(0, page.limit).map((i) => this.items.docOf(i)!);
    const last = pageItems.at(-1);
    return {
      // The filter works in whole seconds; the last second is checked here.
      items: pageItems.filter(alive),
      nextCursor: items.length > page.limit && last ? encodeCursor([last.createdAt, last.jobId]) : null,
    };
  }
}
