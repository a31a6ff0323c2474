/**
 * The StateStore port: tenants, API keys, query jobs, the job queue, idempotency records, the audit
 * trail, shared rate-limit buckets, warehouse sessions. Shaped so DynamoDB can implement it: get/put by key,
 * conditional single-item updates, per-tenant time-ordered listing with an opaque cursor, expiry.
 * No joins, no cross-item transactions. One contract suite runs against each adapter.
 */

import type { AuditEntry } from '../domain/audit-entry.js';
import type { BulkJob, BulkJobState, BulkOperation } from '../domain/bulk-job.js';
import type { JobStatus, QueryJob } from '../domain/query-job.js';
import type { RateDecision } from '../domain/rate-limit.js';
import type { ApiKeyRecord, Tenant } from '../domain/tenant.js';
import type { ClaimedSession, WarehouseSession } from '../domain/warehouse-session.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  /** Opaque cursor from a previous page; adapters reject a malformed one with INVALID_REQUEST. */
  cursor?: string | undefined;
}

export interface TenantStore {
  get(tenantId: string): Promise<Tenant | null>;
  /** Creates; CONFLICT when the id exists. */
  create(tenant: Tenant): Promise<void>;
  update(
    tenantId: string,
    patch: Partial<Pick<Tenant, 'name' | 'status' | 'defaultPermissions' | 'dbGroups'>>,
  ): Promise<Tenant>;
  /** Removes the tenant and every API key of it (a later tenant of the same id starts with none). */
  delete(tenantId: string): Promise<void>;
  list(page: PageRequest): Promise<Page<Tenant>>;
}

export interface ApiKeyStore {
  get(keyId: string): Promise<ApiKeyRecord | null>;
  /** NOT_FOUND when the tenant does not exist (a key never outlives or precedes its tenant). */
  create(key: ApiKeyRecord): Promise<void>;
  /** Oldest first; sees a key as soon as `create` returned (no lagging index alone). */
  listByTenant(tenantId: string): Promise<ApiKeyRecord[]>;
  update(
    keyId: string,
    patch: Partial<Pick<ApiKeyRecord, 'revokedAt' | 'expiresAt' | 'lastUsedAt'>>,
  ): Promise<void>;
}

export type JobPatch = Partial<
  Pick<
    QueryJob,
    | 'status'
    | 'plannedSql'
    | 'startedAt'
    | 'completedAt'
    | 'rowCount'
    | 'truncated'
    | 'executionTimeMs'
    | 'error'
    | 'statementRef'
    | 'rowsFetched'
    | 'sizeBytes'
    | 'result'
    | 'leaseOwner'
    | 'leaseExpiresAt'
    | 'notBefore'
  >
>;

/** Extra conditions of a transition besides the current status. */
export interface TransitionGuard {
  /** Only the worker holding the job's lease may move it (finish, re-queue, record its statement). */
  leaseOwner?: string;
}

export interface JobStore {
  create(job: QueryJob): Promise<void>;
  /** Null when absent, expired, or owned by another tenant. */
  get(tenantId: string, jobId: string): Promise<QueryJob | null>;
  /**
   * Conditional update: applies `patch` only if the job's status is one of `from`. Returns the
   * updated job, or throws CONFLICT (with the current status) / NOT_FOUND. Bumps `version`.
   */
  transition(
    tenantId: string,
    jobId: string,
    from: readonly JobStatus[],
    patch: JobPatch,
    guard?: TransitionGuard,
  ): Promise<QueryJob>;
  /** Newest first. */
  list(
    tenantId: string,
    filter: { status?: JobStatus | undefined },
    page: PageRequest,
  ): Promise<Page<QueryJob>>;
}

/** Fields of a bulk job that moves may change. */
export type BulkJobPatch = Partial<
  Pick<
    BulkJob,
    | 'state'
    | 'queuedAt'
    | 'startedAt'
    | 'completedAt'
    | 'recordsProcessed'
    | 'recordsFailed'
    | 'error'
    | 'upload'
    | 'result'
    | 'statementRef'
    | 'leaseOwner'
    | 'leaseExpiresAt'
    | 'notBefore'
  >
>;

/** Bulk jobs: the same conditional single-item discipline as query jobs. */
export interface BulkJobStore {
  create(job: BulkJob): Promise<void>;
  /** Null when absent, expired, or owned by another tenant. */
  get(tenantId: string, jobId: string): Promise<BulkJob | null>;
  /**
   * Applies `patch` only if the job's state is one of `from` (and, with `guard.leaseOwner`, the
   * worker holds its lease). Returns the updated job, or throws CONFLICT (details.state) / NOT_FOUND.
   */
  transition(
    tenantId: string,
    jobId: string,
    from: readonly BulkJobState[],
    patch: BulkJobPatch,
    guard?: TransitionGuard,
  ): Promise<BulkJob>;
  /** Newest first. */
  list(
    tenantId: string,
    filter: { state?: BulkJobState | undefined; operation?: BulkOperation | undefined },
    page: PageRequest,
  ): Promise<Page<BulkJob>>;
}

/** Expired bulk jobs for the sweeper (reads already hide them); their files go with them. */
export interface BulkRetentionStore {
  /** Deletes expired bulk jobs (never InProgress ones); returns what was deleted. */
  deleteExpired(limit: number): Promise<{ tenantId: string; jobId: string }[]>;
}

/**
 * The Bulk API's records and queue. Bulk jobs share the tenant's RUNNING cap with query jobs
 * (an InProgress bulk job counts as RUNNING), so the queue is the same `JobQueueStore` over
 * another job kind: UploadComplete is its QUEUED, InProgress its RUNNING.
 */
export interface BulkStateStores {
  jobs: BulkJobStore;
  queue: JobQueueStore<BulkJob>;
  retention: BulkRetentionStore;
}

/** A tenant's next claimable jobs (oldest first) and how many of its jobs are RUNNING now. */
export interface QueueHead {
  tenantId: string;
  /** Oldest first; at most `perTenant` of them. `kind` names the queue (set by a worker serving several). */
  jobs: { jobId: string; submittedAt: string; kind?: string }[];
  running: number;
}

export type QueueEvent =
  /**
   * A job became claimable (submitted or re-queued): `job` names it where the source knows which
   * (an idle worker may claim it without reading the queue heads); without it (a reconnect, a
   * poll), scan.
   */
  | { type: 'queued'; job?: { tenantId: string; jobId: string } }
  /** A RUNNING job was cancelled: whoever runs it stops. */
  | { type: 'cancelled'; tenantId: string; jobId: string };

/**
 * The async job queue. Every operation is a conditional update of one job item (plus, for
 * `claim`, the tenant's count of RUNNING jobs: on DynamoDB a per-tenant counter item updated in
 * the same conditional write), so any number of worker processes can share it.
 */
/** What the queue needs of a job, whatever its kind. */
export interface QueuedJob {
  tenantId: string;
  jobId: string;
  attempts: number;
}

export interface JobQueueStore<J extends QueuedJob = QueryJob> {
  /** Tenants with claimable jobs (QUEUED, not expired, past `notBefore`): their oldest jobs and RUNNING counts. */
  heads(opts: { perTenant: number; maxTenants: number }): Promise<QueueHead[]>;
  /**
   * QUEUED → RUNNING, only if the job is still claimable and its tenant has fewer than
   * `maxRunning` RUNNING jobs. Sets the lease, increments `attempts`. Null when another worker won
   * or the tenant is at its cap.
   */
  claim(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    maxRunning: number,
  ): Promise<J | null>;
  /**
   * Renews the lease of a RUNNING job held by `owner` and records progress (bulk jobs: records
   * processed and failed). False when it is not ours any more.
   */
  heartbeat(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    progress: { rowsFetched: number; rowsFailed?: number },
  ): Promise<boolean>;
  /**
   * RUNNING jobs whose lease expired (their worker died): back to QUEUED, or FAILED with
   * MAX_ATTEMPTS_EXCEEDED once they were claimed `maxAttempts` times. At most `limit` per call.
   */
  requeueExpired(maxAttempts: number, limit: number): Promise<{ requeued: J[]; failed: J[] }>;
  /** Queue events (PostgreSQL: LISTEN/NOTIFY). Best effort: workers also scan periodically. */
  subscribe(onEvent: (event: QueueEvent) => void): Promise<() => Promise<void>>;
}

/** Retention of jobs and their results: expired items for the sweeper (reads already hide them). */
export interface JobRetentionStore {
  /** Jobs whose result files expired: what to delete from the ResultStore. */
  expiredResults(limit: number): Promise<{ tenantId: string; jobId: string; key: string }[]>;
  /** Forgets a job's result location (conditional on `key`, so a newer result is kept). */
  clearResult(tenantId: string, jobId: string, key: string): Promise<void>;
  /** Deletes expired job records (never RUNNING ones); returns what was deleted. */
  deleteExpired(limit: number): Promise<{ tenantId: string; jobId: string }[]>;
}

/** A response kept for replay: status, the headers that describe it, and its body. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  /** The body inline (UTF-8), or null when it was spilled to the ResultStore under `bodyKey`. */
  body: string | null;
  bodyKey: string | null;
}

export interface IdempotencyRecord {
  tenantId: string;
  key: string;
  /** sha256 of method, path and canonical body: a different hash under the same key is a conflict. */
  requestHash: string;
  state: 'in_progress' | 'completed';
  /** Random token of the request that holds the key; only it may complete or release the record. */
  owner: string;
  response: StoredResponse | null;
  createdAt: string;
  expiresAt: string;
  /** An in-progress record older than this is abandoned (its process died): the key may be taken over. */
  lockedUntil: string;
}

export interface IdempotencyStore {
  /**
   * Creates an in-progress record unless a live one exists (conditional put: absent, expired, or
   * abandoned). Returns the live record when the key is taken.
   */
  acquire(
    record: Pick<
      IdempotencyRecord,
      'tenantId' | 'key' | 'requestHash' | 'owner' | 'expiresAt' | 'lockedUntil'
    >,
  ): Promise<{ acquired: true } | { acquired: false; record: IdempotencyRecord }>;
  /** Null when absent or expired. */
  get(tenantId: string, key: string): Promise<IdempotencyRecord | null>;
  /** in_progress → completed with the response, only by `owner`. False when the record is not ours any more. */
  complete(tenantId: string, key: string, owner: string, response: StoredResponse): Promise<boolean>;
  /** Deletes an in-progress record held by `owner` (the request failed: a retry may run again). */
  release(tenantId: string, key: string, owner: string): Promise<void>;
  /** Deletes expired records; returns them (the sweeper deletes their spilled bodies). */
  deleteExpired(limit: number): Promise<IdempotencyRecord[]>;
}

export interface AuditFilter {
  tenantId?: string | undefined;
  /** RFC 3339, inclusive. */
  since?: string | undefined;
  /** RFC 3339, exclusive. */
  until?: string | undefined;
  /** `asc` (default): oldest first; `desc`: newest first. A cursor continues in the order it was read in. */
  order?: 'asc' | 'desc' | undefined;
}

/** The audit trail: append-only, read in time order either way, trimmed by age (DynamoDB: TTL on `at`). */
export interface AuditStore {
  /** Appends a batch of entries (one round trip where the store allows it). */
  append(entries: AuditEntry[]): Promise<void>;
  /** By `at`, then entry id: oldest first, or newest first with `order: 'desc'`. */
  list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry>>;
  /** Deletes at most `max` entries older than `before`; returns how many. */
  deleteBefore(before: string, max: number): Promise<number>;
}

/**
 * Rate-limit buckets shared by every API process: one conditional single-item update per call
 * (GCRA: the item holds the bucket's theoretical arrival time), decided on the store's clock.
 */
export interface RateLimitStore {
  /**
   * Takes `count` requests at once from bucket `key` (`limitPerMinute`, refilled at limit/60 per
   * second): as many as fit are granted, in order. One decision per request.
   */
  take(key: string, limitPerMinute: number, count: number): Promise<RateDecision[]>;
}

/** What a session claim asks for. Times are epoch ms on the caller's clock. */
export interface SessionClaimRequest {
  now: number;
  /** Only sessions whose expiry is later than this qualify (a statement must not outlive its session). */
  aliveUntil: number;
  /** The claim lapses at this time if never released, so a process that died holds no session for ever. */
  holdUntil: number;
}

export interface SessionClaim {
  /** An idle, unexpired session of this (tenant, db user), now reserved for the caller; null when none. */
  session: ClaimedSession | null;
  /** Sessions of this (tenant, db user) believed alive (expiry after `now`), claimed ones included. */
  live: number;
}

/**
 * Redshift Data API sessions shared by every process (warehouse/redshift-data): a session runs one
 * statement at a time, so `claim` is a compare-and-set on one record (idle or claim lapsed, not
 * expired) and hands a session to one caller at a time, only ever to the (tenant, db user) that
 * opened it.
 */
export interface WarehouseSessionStore {
  claim(tenantId: string, dbUser: string, request: SessionClaimRequest): Promise<SessionClaim>;
  /** Records a session the Data API has just opened; it starts claimed by the caller until `holdUntil`. */
  add(session: WarehouseSession, holdUntil: number): Promise<ClaimedSession>;
  /**
   * Makes a claimed session idle again, alive until `expiresAt` (capped at 24 h after it was
   * opened). Only the claim's holder may: false when the claim lapsed and was taken, or the session is gone.
   */
  release(session: ClaimedSession, expiresAt: number): Promise<boolean>;
  /** Forgets a session (closed, expired or refused by the Data API). */
  drop(session: WarehouseSession): Promise<void>;
}

/** Cheap counts for metrics, read at scrape time. */
export interface OperationalStats {
  /** Jobs in active states (QUEUED, RUNNING, …) by kind (`query`, `bulk`) and status. */
  activeJobCounts(): Promise<{ kind: string; status: string; count: number }[]>;
}

export interface StateStore {
  tenants: TenantStore;
  apiKeys: ApiKeyStore;
  jobs: JobStore;
  jobQueue: JobQueueStore;
  jobRetention: JobRetentionStore;
  idempotency: IdempotencyStore;
  audit: AuditStore;
  rateLimits: RateLimitStore;
  /** Redshift Data API sessions (used when the warehouse is `redshift-data`). */
  sessions: WarehouseSessionStore;
  stats: OperationalStats;
  /** The Bulk API's stores; adapters without them leave it undefined (the Bulk API is then off). */
  bulk?: BulkStateStores | undefined;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
