/**
 * StateStore on DynamoDB (serverless shape): tenants, API keys and query jobs in the tables of
 * tables.ts (the CDK stack's design; docs/aws.md). Every status change is a conditional write.
 * Job listings query a tenant-keyed index whose partition comes from the caller, never from the
 * cursor, so a cursor cannot reach another tenant's items. Expired items are hidden at read time
 * (DynamoDB's TTL deletes them late).
 */
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ApiError, conflict, invalidRequest, notFound } from '../../domain/errors.js';
import type { JobStatus, QueryJob } from '../../domain/query-job.js';
import type { ApiKeyRecord, Tenant } from '../../domain/tenant.js';
import type {
  ApiKeyStore,
  JobPatch,
  JobStore,
  Page,
  PageRequest,
  StateStore,
  TenantStore,
  TransitionGuard,
} from '../port.js';
import { STATE_TABLES, type StateTableNames } from './tables.js';

export { createTables, STATE_TABLES, type StateTableNames, stateTableNames } from './tables.js';

/** The parts of the StateStore port this adapter implements so far (phase 2 adds the job queue, idempotency, audit…). */
export type DynamoStateParts = Pick<StateStore, 'tenants' | 'apiKeys' | 'jobs' | 'ping' | 'close'>;

const RETRY_AFTER_SECONDS = 5;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const [JOBS_BY_TENANT, JOBS_BY_STATUS] = [
  STATE_TABLES.jobs.indexes[0].name,
  STATE_TABLES.jobs.indexes[1].name,
];
const KEYS_BY_TENANT = STATE_TABLES.apiKeys.indexes[0].name;

/** A DynamoDB document client; the SDK's Node-version notice is not for our users (NOTES.md). */
export function createDynamoClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export interface DynamoStateOptions {
  tables: StateTableNames;
  client?: DynamoDBDocumentClient;
  clientConfig?: DynamoDBClientConfig;
}

/** Cursor = base64url JSON of the last item's sort-key parts; the partition is always the caller's. */
function encodeCursor(parts: string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}
function decodeCursor(cursor: string, arity: number): string[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parts) &&
      parts.length === arity &&
      parts.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 256)
    )
      return parts;
  } catch {}
  throw invalidRequest('malformed cursor', { field: 'cursor' });
}

const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException ||
  (e as { name?: string })?.name === 'ConditionalCheckFailedException';
const isTransactionCancelled = (e: unknown) =>
  e instanceof TransactionCanceledException ||
  (e as { name?: string })?.name === 'TransactionCanceledException';

function unavailable(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const name = (e as { name?: string })?.name ?? 'Error';
  const details: Record<string, unknown> = { cause: name };
  if (name === 'ResourceNotFoundException')
    details.hint = 'a state table does not exist: run `spectra aws init`';
  return new ApiError(
    'WAREHOUSE_UNAVAILABLE',
    'control state store unavailable',
    details,
    RETRY_AFTER_SECONDS,
  );
}

const docOf = <T>(item: Record<string, unknown> | undefined): T | null => (item ? (item.doc as T) : null);
/** TTL is whole epoch seconds, rounded up so an item never disappears before its expiry. */
const ttlOf = (iso: string) => Math.ceil(Date.parse(iso) / 1000);
const nowSeconds = () => Math.floor(Date.now() / 1000);
const alive = (job: QueryJob) => Date.parse(job.expiresAt) > Date.now();
/** Claims of db users live in the tenants table under a key no tenant id can take (ids never hold `#`). */
const dbUserClaimKey = (dbUser: string) => `#db_user#${dbUser}`;

export class DynamoStateStore implements DynamoStateParts {
  private readonly db: DynamoDBDocumentClient;
  private readonly ownsClient: boolean;
  private readonly t: StateTableNames;

  constructor(opts: DynamoStateOptions) {
    this.t = opts.tables;
    this.db = opts.client ?? createDynamoClient(opts.clientConfig);
    this.ownsClient = opts.client === undefined;
  }

  /** Runs one DynamoDB call; conditional failures go back to the caller, the rest become 503s. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isConditionFailure(e) || isTransactionCancelled(e)) throw e;
      throw unavailable(e);
    }
  }

  async ping(): Promise<void> {
    for (const table of Object.values(this.t)) {
      await this.call(() => this.db.send(new DescribeTableCommand({ TableName: table })));
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.db.destroy();
  }

  /** Reads `want` items (after the filter) from a Query or Scan, following DynamoDB's pages. */
  private async collect(
    read: (
      start: Record<string, unknown> | undefined,
      limit: number | undefined,
    ) => Promise<{
      Items?: Record<string, unknown>[];
      LastEvaluatedKey?: Record<string, unknown>;
    }>,
    want: number,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.call(() =>
        read(start, Number.isFinite(want) ? Math.max(want - items.length, 1) : undefined),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start && items.length < want);
    return items.slice(0, want);
  }

  private query(
    input: Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>,
    table: string,
    want: number,
  ) {
    return this.collect(
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
    delete: async (tenantId) => {
      const tenant = await this.tenants.get(tenantId);
      if (!tenant) return;
      try {
        await this.call(() =>
          this.db.send(
            new TransactWriteCommand({
              TransactItems: [
                { Delete: { TableName: this.t.tenants, Key: { tenant_id: tenantId } } },
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
      } catch (e) {
        if (!isTransactionCancelled(e)) throw e;
        // The claim is someone else's (it cannot be, but then it is not ours to drop): delete the tenant alone.
        await this.call(() =>
          this.db.send(new DeleteCommand({ TableName: this.t.tenants, Key: { tenant_id: tenantId } })),
        );
      }
    },
    /** Admin listing: a Scan in the table's own (stable) order; claims are skipped. */
    list: async (page: PageRequest): Promise<Page<Tenant>> => {
      const after = page.cursor ? decodeCursor(page.cursor, 1)[0]! : undefined;
      const items = await this.collect(
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
    create: async (k) => {
      try {
        await this.call(() =>
          this.db.send(
            new PutCommand({
              TableName: this.t.apiKeys,
              Item: { key_id: k.keyId, tenant_id: k.tenantId, created_at: k.createdAt, doc: k },
              ConditionExpression: 'attribute_not_exists(key_id)',
            }),
          ),
        );
      } catch (e) {
        if (isConditionFailure(e)) throw conflict(`API key ${k.keyId} already exists`);
        throw e;
      }
    },
    listByTenant: async (tenantId) => {
      const items = await this.query(
        {
          IndexName: KEYS_BY_TENANT,
          KeyConditionExpression: 'tenant_id = :t',
          ExpressionAttributeValues: { ':t': tenantId },
          ScanIndexForward: true,
        },
        this.t.apiKeys,
        Number.POSITIVE_INFINITY,
      );
      return items.map((i) => docOf<ApiKeyRecord>(i)!);
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
    create: async (j) => {
      try {
        await this.call(() =>
          this.db.send(
            new PutCommand({
              TableName: this.t.jobs,
              Item: {
                job_id: j.jobId,
                tenant_id: j.tenantId,
                status: j.status,
                tenant_status: `${j.tenantId}#${j.status}`,
                submitted_at: j.submittedAt,
                ...(j.leaseExpiresAt ? { lease_expires_at: j.leaseExpiresAt } : {}),
                expires_at: ttlOf(j.expiresAt),
                doc: j,
              },
              ConditionExpression: 'attribute_not_exists(job_id)',
            }),
          ),
        );
      } catch (e) {
        if (isConditionFailure(e)) throw conflict(`job ${j.jobId} already exists`);
        throw e;
      }
    },
    get: async (tenantId, jobId) => {
      const out = await this.call(() =>
        this.db.send(
          new GetCommand({ TableName: this.t.jobs, Key: { job_id: jobId }, ConsistentRead: true }),
        ),
      );
      const job = docOf<QueryJob>(out.Item);
      // Another tenant's job is indistinguishable from no job.
      return job && out.Item!.tenant_id === tenantId && alive(job) ? job : null;
    },
    transition: async (
      tenantId: string,
      jobId: string,
      from: readonly JobStatus[],
      patch: JobPatch,
      guard: TransitionGuard = {},
    ): Promise<QueryJob> => {
      const names: Record<string, string> = { '#status': 'status', '#version': 'version' };
      const values: Record<string, unknown> = { ':tenant': tenantId, ':now': nowSeconds(), ':one': 1 };
      const sets = ['doc.#version = doc.#version + :one'];
      const removes: string[] = [];
      for (const [field, value] of Object.entries(patch)) {
        names[`#f_${field}`] = field;
        values[`:f_${field}`] = value ?? null;
        sets.push(`doc.#f_${field} = :f_${field}`);
      }
      if (patch.status !== undefined) {
        values[':status'] = patch.status;
        values[':tenantStatus'] = `${tenantId}#${patch.status}`;
        sets.push('#status = :status', 'tenant_status = :tenantStatus');
      }
      if ('leaseExpiresAt' in patch) {
        // An index key is a string or absent: a released lease leaves the lease index.
        if (patch.leaseExpiresAt) {
          values[':lease'] = patch.leaseExpiresAt;
          sets.push('lease_expires_at = :lease');
        } else removes.push('lease_expires_at');
      }
      const fromValues = from.map((s, i) => {
        values[`:from${i}`] = s;
        return `:from${i}`;
      });
      let condition = `tenant_id = :tenant AND expires_at > :now AND #status IN (${fromValues.join(', ')})`;
      if (guard.leaseOwner !== undefined) {
        names['#leaseOwner'] = 'leaseOwner';
        values[':leaseOwner'] = guard.leaseOwner;
        condition += ' AND doc.#leaseOwner = :leaseOwner';
      }
      if (from.length > 0) {
        try {
          const out = await this.call(() =>
            this.db.send(
              new UpdateCommand({
                TableName: this.t.jobs,
                Key: { job_id: jobId },
                UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
                ConditionExpression: condition,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
                ReturnValues: 'ALL_NEW',
              }),
            ),
          );
          return docOf<QueryJob>(out.Attributes)!;
        } catch (e) {
          if (!isConditionFailure(e)) throw e;
        }
      }
      const current = await this.jobs.get(tenantId, jobId);
      if (!current) throw notFound('job');
      if (
        guard.leaseOwner !== undefined &&
        current.leaseOwner !== guard.leaseOwner &&
        from.includes(current.status)
      )
        throw conflict('the job is held by another worker', { status: current.status });
      throw conflict(`job is ${current.status}`, { status: current.status });
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
      const items = await this.collect(
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
