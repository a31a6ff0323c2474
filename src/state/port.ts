/**
 * The StateStore port: tenants, API keys, query jobs. Shaped so DynamoDB can implement it:
 * get/put by key, conditional single-item updates, per-tenant time-ordered listing with an opaque
 * cursor, expiry. No joins, no cross-item transactions. One contract suite runs against each adapter.
 */

import type { JobStatus, QueryJob } from '../domain/query-job.js';
import type { ApiKeyRecord, Tenant } from '../domain/tenant.js';

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
  delete(tenantId: string): Promise<void>;
  list(page: PageRequest): Promise<Page<Tenant>>;
}

export interface ApiKeyStore {
  get(keyId: string): Promise<ApiKeyRecord | null>;
  create(key: ApiKeyRecord): Promise<void>;
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
  >
>;

export interface JobStore {
  create(job: QueryJob): Promise<void>;
  /** Null when absent, expired, or owned by another tenant. */
  get(tenantId: string, jobId: string): Promise<QueryJob | null>;
  /**
   * Conditional update: applies `patch` only if the job's status is one of `from`. Returns the
   * updated job, or throws CONFLICT (with the current status) / NOT_FOUND. Bumps `version`.
   */
  transition(tenantId: string, jobId: string, from: readonly JobStatus[], patch: JobPatch): Promise<QueryJob>;
  /** Newest first. */
  list(
    tenantId: string,
    filter: { status?: JobStatus | undefined },
    page: PageRequest,
  ): Promise<Page<QueryJob>>;
}

export interface StateStore {
  tenants: TenantStore;
  apiKeys: ApiKeyStore;
  jobs: JobStore;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
