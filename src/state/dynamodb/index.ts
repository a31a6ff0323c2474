/**
 * StateStore on DynamoDB (serverless shape): tenants, API keys, query jobs, bulk jobs and Data API
 * sessions in the tables of tables.ts (the CDK stack's design; docs/aws.md). Every status change
 * is a conditional write. Job listings query a tenant-keyed index whose partition comes from the
 * caller, never from the cursor, so a cursor cannot reach another tenant's items. Expired items
 * are hidden at read time (DynamoDB's TTL deletes them late).
 */
import { DescribeTableCommand, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { conflict, invalidRequest, notFound } from '../../domain/errors.js';
import type { JobStatus, QueryJob } from '../../domain/query-job.js';
import type { ApiKeyRecord, Tenant } from '../../domain/tenant.js';
import type {
  ApiKeyStore,
  BulkStateStores,
  JobPatch,
  JobStore,
  Page,
  PageRequest,
  StateStore,
  TenantStore,
  TransitionGuard,
} from '../port.js';
import { transitionFailure } from '../transition-failure.js';
import { DynamoAuditStore } from './audit.js';
import { BULK_JOB_ITEMS, dynamoBulkStores } from './bulk-jobs.js';
import {
  call,
  cancellationCodes,
  collect,
  createDynamoClient,
  decodeCursor,
  encodeCursor,
  isConditionFailure,
  isTransactionCancelled,
  unavailable,
} from './calls.js';
import { DynamoIdempotencyStore } from './idempotency.js';
import { DynamoJobQueue, DynamoJobRetention, JobItems, QUERY_JOB_ITEMS } from './job-queue.js';
import { DynamoOperationalStats } from './operational-stats.js';
import { DynamoRateLimitStore } from './rate-limits.js';
import { DynamoSessionStore } from './sessions.js';
import { STATE_TABLES, type StateTableNames } from './tables.js';

export { createDynamoClient } from './calls.js';
export { createTables, STATE_TABLES, type StateTableNames, stateTableNames } from './tables.js';

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const [JOBS_BY_TENANT, JOBS_BY_STATUS] = [
  STATE_TABLES.jobs.indexes[0].name,
  STATE_TABLES.jobs.indexes[1].name,
];
const KEYS_BY_TENANT = STATE_TABLES.apiKeys.indexes[0].name;
/** A tenant deletion that keeps losing to key creations gives up after this many looks. */
const TENANT_DELETE_RETRIES = 5;

export interface DynamoStateOptions {
  tables: StateTableNames;
  client?: DynamoDBDocumentClient;
  clientConfig?: DynamoDBClientConfig;
  /** The clock of rate-limit decisions (tests); default this process's. */
  now?: () => number;
}

const docOf = <T>(item: Record<string, unknown> | undefined): T | null => (item ? (item.doc as T) : null);
const nowSeconds = () => Math.floor(Date.now() / 1000);
const alive = (job: QueryJob) => Date.parse(job.expiresAt) > Date.now();
/** Claims of db users live in the tenants table under a key no tenant id can take (ids never hold `#`). */
const dbUserClaimKey = (dbUser: string) => `#db_user#${dbUser}`;

export class DynamoStateStore implements StateStore {
  private readonly db: DynamoDBDocumentClient;
  private readonly ownsClient: boolean;
  private readonly t: StateTableNames;

  private readonly jobItems: JobItems;
  readonly jobQueue: DynamoJobQueue;
  readonly jobRetention: DynamoJobRetention;
  readonly idempotency: DynamoIdempotencyStore;
  readonly audit: DynamoAuditStore;
  readonly rateLimits: DynamoRateLimitStore;
  readonly sessions: DynamoSessionStore;
  readonly stats: DynamoOperationalStats;
  /** The Bulk API's stores on the bulk-jobs table (bulk-jobs.ts); its RUNNING count is the jobs table's counter. */
  readonly bulk: BulkStateStores;

  constructor(opts: DynamoStateOptions) {
    this.t = opts.tables;
    this.db = opts.client ?? createDynamoClient(opts.clientConfig);
    this.ownsClient = opts.client === undefined;
    this.jobItems = new JobItems(this.db, this.t.jobs);
    this.jobQueue = new DynamoJobQueue(this.db, this.jobItems);
    this.jobRetention = new DynamoJobRetention(this.db, this.t.jobs);
    this.idempotency = new DynamoIdempotencyStore(this.db, this.t.idempotency);
    this.audit = new DynamoAuditStore(this.db, this.t.audit);
    this.rateLimits = new DynamoRateLimitStore(this.db, this.t.rateLimits, opts.now);
    this.sessions = new DynamoSessionStore(this.db, this.t.sessions);
    this.stats = new DynamoOperationalStats(this.db, [
      { name: 'query', table: this.t.jobs, counterTable: this.t.jobs, items: QUERY_JOB_ITEMS },
      { name: 'bulk', table: this.t.bulkJobs, counterTable: this.t.jobs, items: BULK_JOB_ITEMS },
    ]);
    this.bulk = dynamoBulkStores(this.db, { bulkJobs: this.t.bulkJobs, jobs: this.t.jobs });
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return call(fn);
  }

  async ping(): Promise<void> {
    for (const table of Object.values(this.t)) {
      await this.call(() => this.db.send(new DescribeTableCommand({ TableName: table })));
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.db.destroy();
  }

  private query(
    input: Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>,
    table: string,
    want: number,
  ) {
    return collect(
      (start, limit) =>
        this.db.send(
          new QueryCommand({
            TableName: table,
            ...input,
            ...(limit ? { Limit: limit } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      want,
    );
  }

  private async tenantItem(tenantId: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.call(() =>
      this.db.send(
        new GetCommand({ TableName: this.t.tenants, Key: { tenant_id: tenantId }, ConsistentRead: true }),
      ),
    );
    return out.Item;
  }

  /** A tenant's key ids: those on its item and those the `by-tenant` index shows (it may lag, never the item). */
  private async keyIdsOf(tenantId: string, item: Record<string, unknown> | undefined): Promise<string[]> {
    const indexed = await this.query(
      {
        IndexName: KEYS_BY_TENANT,
        KeyConditionExpression: 'tenant_id = :t',
        ExpressionAttributeValues: { ':t': tenantId },
        ProjectionExpression: 'key_id',
      },
      this.t.apiKeys,
      Number.POSITIVE_INFINITY,
    );
    const ids = new Set<string>((item?.key_ids as Set<string> | undefined) ?? []);
    for (const i of indexed) ids.add(i.key_id as string);
    return [...ids];
  }

  readonly tenants: TenantStore = {
    get: async (tenantId) => {
      const out = await this.call(() =>
        this.db.send(
          new GetCommand({ TableName: this.t.tenants, Key: { tenant_id: tenantId }, ConsistentRead: true }),
        ),
      );
      return docOf<Tenant>(out.Item);
    },
    create: async (t) => {
      try {
        await this.call(() =>
          this.db.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Put: {
                    TableName: this.t.tenants,
                    Item: { tenant_id: t.tenantId, db_user: t.dbUser, doc: t },
                    ConditionExpression: 'attribute_not_exists(tenant_id)',
                  },
                },
                {
                  // Two tenants must never share a role: db_user is claimed in the same transaction.
                  Put: {
                    TableName: this.t.tenants,
                    Item: { tenant_id: dbUserClaimKey(t.dbUser), claimed_by: t.tenantId },
                    ConditionExpression: 'attribute_not_exists(tenant_id)',
                  },
                },
              ],
            }),
          ),
        );
      } catch (e) {
        if (isTransactionCancelled(e))
          throw conflict(`tenant ${t.tenantId} already exists (or its db_user is taken)`);
        throw e;
      }
    },
    update: async (tenantId, patch) => {
      const names: Record<string, string> = { '#updatedAt': 'updatedAt' };
      const values: Record<string, unknown> = { ':now': new Date().toISOString() };
      const sets = ['doc.#updatedAt = :now'];
      for (const field of ['name', 'status', 'defaultPermissions', 'dbGroups'] as const) {
        if (patch[field] === undefined || patch[field] === null) continue;
        names[`#${field}`] = field;
        values[`:${field}`] = patch[field];
        sets.push(`doc.#${field} = :${field}`);
      }
      try {
        const out = await this.call(() =>
          this.db.send(
            new UpdateCommand({
              TableName: this.t.tenants,
              Key: { tenant_id: tenantId },
              UpdateExpression: `SET ${sets.join(', ')}`,
              ConditionExpression: 'attribute_exists(doc)',
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
              ReturnValues: 'ALL_NEW',
            }),
          ),
        );
        return docOf<Tenant>(out.Attributes)!;
      } catch (e) {
        if (isConditionFailure(e)) throw notFound('tenant');
        throw e;
      }
    },
    /**
     * Removes the tenant and its keys. The key ids come from the tenant item (consistent), not only
     * from the lagging `by-tenant` index; the tenant goes only if no key was added meanwhile.
     */
    delete: async (tenantId) => {
      for (let attempt = 0; ; attempt++) {
        const item = await this.tenantItem(tenantId);
        if (!item?.doc) return;
        const keyIds = await this.keyIdsOf(tenantId, item);
        for (const keyId of keyIds) {
          await this.call(() =>
            this.db.send(
              new DeleteCommand({
                TableName: this.t.apiKeys,
                Key: { key_id: keyId },
                ConditionExpression: 'tenant_id = :t',
                ExpressionAttributeValues: { ':t': tenantId },
              }),
            ),
          ).catch((e) => {
            if (!isConditionFailure(e)) throw e;
          });
        }
        const seen = (item.key_ids as Set<string> | undefined)?.size ?? 0;
        const tenant = item.doc as Tenant;
        try {
          await this.call(() =>
            this.db.send(
              new TransactWriteCommand({
                TransactItems: [
                  {
                    Delete: {
                      TableName: this.t.tenants,
                      Key: { tenant_id: tenantId },
                      ConditionExpression: seen ? 'size(key_ids) = :n' : 'attribute_not_exists(key_ids)',
                      ...(seen ? { ExpressionAttributeValues: { ':n': seen } } : {}),
                    },
                  },
                  {
                    Delete: {
                      TableName: this.t.tenants,
                      Key: { tenant_id: dbUserClaimKey(tenant.dbUser) },
                      ConditionExpression: 'attribute_not_exists(tenant_id) OR claimed_by = :t',
                      ExpressionAttributeValues: { ':t': tenantId },
                    },
                  },
                ],
              }),
            ),
          );
          return;
        } catch (e) {
          if (!isTransactionCancelled(e)) throw e;
          const [tenantCode, claimCode] = cancellationCodes(e);
          if (tenantCode === 'ConditionalCheckFailed' || tenantCode === 'TransactionConflict') {
            // A key was created meanwhile (or the tenant is gone): look again.
            if (attempt < TENANT_DELETE_RETRIES) continue;
            throw conflict(`tenant ${tenantId} is changing; retry the deletion`);
          }
          if (claimCode !== 'ConditionalCheckFailed') throw e;
          // The claim is someone else's (it cannot be, but then it is not ours to drop): keep it.
          await this.call(() =>
            this.db.send(
              new DeleteCommand({
                TableName: this.t.tenants,
                Key: { tenant_id: tenantId },
                ConditionExpression: seen ? 'size(key_ids) = :n' : 'attribute_not_exists(key_ids)',
                ...(seen ? { ExpressionAttributeValues: { ':n': seen } } : {}),
              }),
            ),
          ).catch((err) => {
            if (!isConditionFailure(err)) throw err;
          });
          return;
        }
      }
    },
    /** Admin listing: a Scan in the table's own (stable) order; claims are skipped. */
    list: async (page: PageRequest): Promise<Page<Tenant>> => {
      const after = page.cursor ? decodeCursor(page.cursor, 1)[0]! : undefined;
      const items = await collect(
        (start, limit) =>
          this.db.send(
            new ScanCommand({
              TableName: this.t.tenants,
              FilterExpression: 'attribute_exists(doc)',
              ...(limit ? { Limit: limit } : {}),
              ...((start ?? after) ? { ExclusiveStartKey: start ?? { tenant_id: after } } : {}),
            }),
          ),
        page.limit + 1,
      );
      const tenants = items.slice(0, page.limit).map((i) => docOf<Tenant>(i)!);
      const last = tenants.at(-1);
      return {
        items: tenants,
        nextCursor: items.length > page.limit && last ? encodeCursor([last.tenantId]) : null,
      };
    },
  };

  readonly apiKeys: ApiKeyStore = {
    get: async (keyId) => {
      const out = await this.call(() =>
        this.db.send(
          new GetCommand({ TableName: this.t.apiKeys, Key: { key_id: keyId }, ConsistentRead: true }),
        ),
      );
      return docOf<ApiKeyRecord>(out.Item);
    },
    /**
     * The key and its id on the tenant item in one transaction: deletion and listing read the ids
     * there, consistently, instead of trusting the `by-tenant` index to have caught up.
     */
    create: async (k) => {
      try {
        await this.call(() =>
          this.db.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Put: {
                    TableName: this.t.apiKeys,
                    Item: { key_id: k.keyId, tenant_id: k.tenantId, created_at: k.createdAt, doc: k },
                    ConditionExpression: 'attribute_not_exists(key_id)',
                  },
                },
                {
                  Update: {
                    TableName: this.t.tenants,
                    Key: { tenant_id: k.tenantId },
                    UpdateExpression: 'ADD key_ids :k',
                    ConditionExpression: 'attribute_exists(doc)',
                    ExpressionAttributeValues: { ':k': new Set([k.keyId]) },
                  },
                },
              ],
            }),
          ),
        );
      } catch (e) {
        if (!isTransactionCancelled(e)) throw e;
        const [keyCode, tenantCode] = cancellationCodes(e);
        if (keyCode === 'ConditionalCheckFailed') throw conflict(`API key ${k.keyId} already exists`);
        if (tenantCode === 'ConditionalCheckFailed') throw notFound('tenant');
        throw unavailable(e);
      }
    },
    /** Consistent: the ids on the tenant item, plus the index for keys stored before ids were kept there. */
    listByTenant: async (tenantId) => {
      const ids = await this.keyIdsOf(tenantId, await this.tenantItem(tenantId));
      const keys = await Promise.all(ids.map((id) => this.apiKeys.get(id)));
      return keys
        .filter((k): k is ApiKeyRecord => k?.tenantId === tenantId)
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
    },
    update: async (keyId, patch) => {
      const fields = (['revokedAt', 'expiresAt', 'lastUsedAt'] as const).filter((f) => f in patch);
      if (fields.length === 0) return;
      try {
        await this.call(() =>
          this.db.send(
            new UpdateCommand({
              TableName: this.t.apiKeys,
              Key: { key_id: keyId },
              UpdateExpression: `SET ${fields.map((f) => `doc.#${f} = :${f}`).join(', ')}`,
              ConditionExpression: 'attribute_exists(key_id)',
              ExpressionAttributeNames: Object.fromEntries(fields.map((f) => [`#${f}`, f])),
              ExpressionAttributeValues: Object.fromEntries(fields.map((f) => [`:${f}`, patch[f] ?? null])),
            }),
          ),
        );
      } catch (e) {
        if (!isConditionFailure(e)) throw e; // an unknown key: nothing to update, as in PostgreSQL
      }
    },
  };

  readonly jobs: JobStore = {
    create: (j) => this.jobItems.create(j),
    get: async (tenantId, jobId) => {
      const job = docOf<QueryJob>(await this.jobItems.read(jobId));
      // Another tenant's job is indistinguishable from no job.
      return job && job.tenantId === tenantId && alive(job) ? job : null;
    },
    transition: async (
      tenantId: string,
      jobId: string,
      from: readonly JobStatus[],
      patch: JobPatch,
      guard: TransitionGuard = {},
    ): Promise<QueryJob> => {
      const updated = await this.jobItems.update(tenantId, jobId, from, patch, { guard });
      if (updated) return updated;
      const current = await this.jobs.get(tenantId, jobId);
      throw transitionFailure('job', current && { ...current, state: current.status }, from, guard);
    },
    list: async (tenantId, filter, page) => {
      let after: { submittedAt: string; jobId: string } | undefined;
      if (page.cursor) {
        const [submittedAt, jobId] = decodeCursor(page.cursor, 2);
        if (!ISO_UTC.test(submittedAt!) || Number.isNaN(Date.parse(submittedAt!)))
          throw invalidRequest('malformed cursor', { field: 'cursor' });
        after = { submittedAt: submittedAt!, jobId: jobId! };
      }
      const byStatus = filter.status !== undefined;
      // The partition is the caller's tenant: a cursor only says where to resume inside it.
      const partition = byStatus
        ? { tenant_status: `${tenantId}#${filter.status}` }
        : { tenant_id: tenantId };
      const [partitionName, partitionValue] = Object.entries(partition)[0]!;
      const startKey = after
        ? { ...partition, submitted_at: after.submittedAt, job_id: after.jobId }
        : undefined;
      const items = await collect(
        (start, limit) =>
          this.db.send(
            new QueryCommand({
              TableName: this.t.jobs,
              IndexName: byStatus ? JOBS_BY_STATUS : JOBS_BY_TENANT,
              KeyConditionExpression: `${partitionName} = :p`,
              FilterExpression: 'expires_at > :now',
              ExpressionAttributeValues: { ':p': partitionValue, ':now': nowSeconds() },
              ScanIndexForward: false,
              ...(limit ? { Limit: limit } : {}),
              ...((start ?? startKey) ? { ExclusiveStartKey: start ?? startKey } : {}),
            }),
          ),
        page.limit + 1,
      );
      const pageItems = items.slice(0, page.limit).map((i) => docOf<QueryJob>(i)!);
      const last = pageItems.at(-1);
      return {
        // The filter works in whole seconds; the last second is checked here.
        items: pageItems.filter(alive),
        nextCursor: items.length > page.limit && last ? encodeCursor([last.submittedAt, last.jobId]) : null,
      };
    },
  };
}
