/**
 * The AWS names shared by the CDK app, the DynamoDB/S3 adapters and the Lambda entry points: tables,
 * their keys and indexes, the TTL attribute, the bucket prefixes and the environment variables that
 * carry them. Pure constants, no imports, so the adapters import it (src/state/dynamodb/tables.ts
 * uses TABLES as its own design) and a change here is a change of both.
 *
 * Why these keys:
 * - jobs and bulk jobs are keyed by their own id, not by tenant: Lambda processes DynamoDB stream
 *   records in order *per partition key*, so a tenant-keyed table would run one tenant's jobs one at
 *   a time. Tenant isolation is enforced by the adapter (`get` compares `tenant_id`, NOT_FOUND on a
 *   mismatch) and per-tenant listing goes through a tenant-keyed index.
 * - `expires_at` (Number, epoch seconds) is the TTL attribute on every table; an item without it
 *   never expires. DynamoDB deletes late (up to days): reads still filter `expires_at > now`.
 */

export interface IndexDesign {
  name: string;
  partitionKey: string;
  sortKey?: string;
}

export interface TableDesign {
  /** Suffix of the physical table name (`<prefix>-<suffix>`). */
  suffix: string;
  /** Environment variable the adapters read the physical name from. */
  env: string;
  partitionKey: string;
  sortKey?: string;
  indexes: IndexDesign[];
}

/** TTL attribute of every table: a Number, epoch seconds. */
export const TTL_ATTRIBUTE = 'expires_at';

export const TABLES = {
  tenants: {
    suffix: 'tenants',
    env: 'SPECTRA_DYNAMODB_TENANTS_TABLE_NAME',
    partitionKey: 'tenant_id',
    // db_user is unique per tenant: provisioning checks it with this index.
    indexes: [{ name: 'by-db-user', partitionKey: 'db_user' }],
  },
  apiKeys: {
    suffix: 'api-keys',
    env: 'SPECTRA_DYNAMODB_API_KEYS_TABLE_NAME',
    partitionKey: 'key_id',
    indexes: [{ name: 'by-tenant', partitionKey: 'tenant_id', sortKey: 'created_at' }],
  },
  jobs: {
    suffix: 'jobs',
    env: 'SPECTRA_DYNAMODB_TABLE_NAME',
    partitionKey: 'job_id',
    indexes: [
      // GET /v1/jobs: newest first per tenant.
      { name: 'by-tenant-submitted', partitionKey: 'tenant_id', sortKey: 'submitted_at' },
      // GET /v1/jobs?status=…, and the worker's per-tenant RUNNING count: `tenant_status` = `<tenant>#<STATUS>`.
      { name: 'by-tenant-status', partitionKey: 'tenant_status', sortKey: 'submitted_at' },
      // Lease sweeper: RUNNING jobs whose lease ran out. Sparse: only items with `lease_expires_at`.
      { name: 'by-status-lease', partitionKey: 'status', sortKey: 'lease_expires_at' },
      // Job queue heads: the per-tenant counter items (`job_id` = `#tenant#<id>`) of tenants with
      // QUEUED jobs. Sparse: only flagged counters carry `queue_state`.
      { name: 'by-queued-tenant', partitionKey: 'queue_state', sortKey: 'counter_tenant' },
      // Bulk queue heads: the same counter items of tenants with UploadComplete bulk jobs (`bulk_queue_state`).
      // The counter's `running` counts RUNNING query jobs and InProgress bulk jobs: one cap for both.
      { name: 'by-bulk-queued-tenant', partitionKey: 'bulk_queue_state', sortKey: 'counter_tenant' },
    ],
  },
  bulkJobs: {
    suffix: 'bulk-jobs',
    env: 'SPECTRA_DYNAMODB_BULK_TABLE_NAME',
    partitionKey: 'job_id',
    indexes: [
      // GET /v1/bulk/jobs: newest first per tenant.
      { name: 'by-tenant-created', partitionKey: 'tenant_id', sortKey: 'created_at' },
      // GET /v1/bulk/jobs?state=…: `tenant_state` = `<tenant>#<state>`.
      { name: 'by-tenant-state', partitionKey: 'tenant_state', sortKey: 'created_at' },
      // The bulk queue: a tenant's UploadComplete jobs in queue order. Sparse: only queued jobs carry `queued_at`.
      { name: 'by-tenant-queued', partitionKey: 'tenant_state', sortKey: 'queued_at' },
      // Lease sweeper: InProgress jobs whose lease ran out. Sparse: only items with `lease_expires_at`.
      { name: 'by-state-lease', partitionKey: 'state', sortKey: 'lease_expires_at' },
    ],
  },
  sessions: {
    // Redshift Data API sessions: several per (tenant, db_user), `session_key` = `<db_user>#<session id>`.
    suffix: 'sessions',
    env: 'SPECTRA_DYNAMODB_SESSIONS_TABLE_NAME',
    partitionKey: 'tenant_id',
    sortKey: 'session_key',
    indexes: [],
  },
  idempotency: {
    suffix: 'idempotency',
    env: 'SPECTRA_DYNAMODB_IDEMPOTENCY_TABLE_NAME',
    partitionKey: 'tenant_id',
    sortKey: 'idempotency_key',
    indexes: [],
  },
  audit: {
    suffix: 'audit',
    env: 'SPECTRA_DYNAMODB_AUDIT_TABLE_NAME',
    partitionKey: 'tenant_id',
    // `<RFC 3339 time>#<entry id>`: time-ordered within a tenant.
    sortKey: 'entry_key',
    // GET /v1/admin/audit without tenant_id: per UTC day (`YYYY-MM-DD`), time-ordered.
    indexes: [{ name: 'by-day', partitionKey: 'day', sortKey: 'entry_key' }],
  },
  rateLimits: {
    // Shared GCRA buckets (one item per tenant and route class).
    suffix: 'rate-limits',
    env: 'SPECTRA_DYNAMODB_RATE_LIMITS_TABLE_NAME',
    partitionKey: 'bucket_key',
    indexes: [],
  },
} as const satisfies Record<string, TableDesign>;

export type TableName = keyof typeof TABLES;

/**
 * What wakes the worker: a stream record whose new image has this value, and whose old image (on
 * MODIFY) did not — a re-queued job (lease expired) runs again, a no-op update of a queued job does not.
 */
export const WORKER_TRIGGERS = [
  { table: 'jobs', attribute: 'status', value: 'QUEUED' },
  { table: 'bulkJobs', attribute: 'state', value: 'UploadComplete' },
] as const satisfies readonly { table: TableName; attribute: string; value: string }[];

/** Attributes of a job item the worker reads from a stream image. */
export const JOB_KEY_ATTRIBUTES = { tenantId: 'tenant_id', jobId: 'job_id' } as const;

/** Object key prefixes in the results bucket; each has a lifecycle expiry. Tenant comes next: `results/<tenant>/<job>/…`. */
/** Query job results (and UNLOAD/COPY staging), bulk job files, bulk uploads: each kind has its own lifetime. */
export const BUCKET_PREFIXES = { results: 'results/', bulk: 'bulk/', uploads: 'uploads/' } as const;
