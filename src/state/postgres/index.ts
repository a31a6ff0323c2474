/** StateStore on PostgreSQL (embedded and cluster shapes). The only place control-state SQL lives. */
import pg from 'pg';
import { ApiError, conflict, invalidRequest, notFound } from '../../domain/errors.js';
import type { JobStatus, QueryJob } from '../../domain/query-job.js';
import type { ApiKeyRecord, Tenant } from '../../domain/tenant.js';
import type { BulkStateStores, JobPatch, Page, PageRequest, StateStore, TransitionGuard } from '../port.js';
import { transitionFailure } from '../transition-failure.js';
import { PostgresAuditStore } from './audit.js';
import { PostgresBulkJobs, PostgresBulkRetention } from './bulk-jobs.js';
import { copyField, copyIn } from './copy-in.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { PostgresIdempotencyStore } from './idempotency.js';
import { BULK_QUEUE, PostgresJobQueue, PostgresJobRetention } from './job-queue.js';
import { hasUnstorableText, type JobRecordTrouble, JobRecordWriter } from './job-record-writer.js';
import { iso, JOB_INSERT_COLUMNS, jobInsertValues, patchAssignments, rowToJob } from './job-rows.js';
import { MIGRATIONS } from './migrations.js';
import { PostgresOperationalStats } from './operational-stats.js';
import { PostgresRateLimitStore } from './rate-limits.js';
import { PostgresSessionStore } from './sessions.js';
import { controlStoreUnavailable, isUnreachable } from './unavailable.js';

function rowToTenant(r: Record<string, unknown>): Tenant {
  return {
    tenantId: r.tenant_id as string,
    name: r.name as string,
    dbUser: r.db_user as string,
    dbGroups: r.db_groups as string[],
    status: r.status as Tenant['status'],
    defaultPermissions: r.default_permissions as string[],
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

function rowToKey(r: Record<string, unknown>): ApiKeyRecord {
  return {
    keyId: r.key_id as string,
    tenantId: r.tenant_id as string,
    secretHash: r.secret_hash as string,
    permissions: r.permissions as string[],
    createdAt: iso(r.created_at)!,
    expiresAt: iso(r.expires_at),
    revokedAt: iso(r.revoked_at),
    lastUsedAt: iso(r.last_used_at),
  };
}

export interface PostgresStateOptions {
  /** The clock of rate-limit decisions (tests); default the database's. */
  now?: () => number;
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  poolSize: number;
  /** A sync query's record that had to be written in a fallback form, or could not be written. */
  onJobRecordTrouble?: (trouble: JobRecordTrouble) => void;
}

const JOB_COPY_SQL = `COPY query_jobs (${JOB_INSERT_COLUMNS.join(', ')}) FROM STDIN`;

export class PostgresStateStore implements StateStore {
  private readonly pool: pg.Pool;
  private readonly recordPool: pg.Pool;
  readonly jobQueue: PostgresJobQueue;
  readonly jobRetention: PostgresJobRetention;
  readonly idempotency: PostgresIdempotencyStore;
  readonly audit: PostgresAuditStore;
  readonly rateLimits: PostgresRateLimitStore;
  readonly sessions: PostgresSessionStore;
  readonly stats: PostgresOperationalStats;
  readonly bulk: BulkStateStores;

  constructor(private readonly opts: PostgresStateOptions) {
    const connection: pg.ClientConfig = {
      connectionString: opts.connectionString || undefined,
      host: opts.host,
      port: opts.port,
      user: opts.user,
      password: opts.password,
      database: opts.database,
    };
    this.pool = new pg.Pool({ ...connection, max: opts.poolSize, application_name: 'spectra-state' });
    // An idle client that loses its server must not crash the process; the pool replaces it.
    this.pool.on('error', () => {});
    // Sync job records go out one group commit at a time, on a connection of their own whose
    // commits do not wait for the WAL flush (no BEGIN/SET LOCAL/COMMIT round trips per batch).
    this.recordPool = new pg.Pool({
      ...connection,
      max: 1,
      application_name: 'spectra-records',
      options: '-c synchronous_commit=off',
    });
    this.recordPool.on('error', () => {});
    const q = (sql: string, params?: unknown[]) => this.q(sql, params);
    this.jobQueue = new PostgresJobQueue(q, connection);
    this.jobRetention = new PostgresJobRetention(q);
    this.idempotency = new PostgresIdempotencyStore(q);
    this.audit = new PostgresAuditStore(q, () => this.pool.connect());
    this.rateLimits = new PostgresRateLimitStore(q, opts.now);
    this.sessions = new PostgresSessionStore(q);
    this.stats = new PostgresOperationalStats(q);
    this.bulk = {
      jobs: new PostgresBulkJobs(q),
      queue: new PostgresJobQueue(q, connection, BULK_QUEUE),
      retention: new PostgresBulkRetention(q),
    };
  }

  private async q(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    try {
      return await this.pool.query(sql, params);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw isUnreachable(e) ? controlStoreUnavailable() : e;
    }
  }

  /** Applies pending migrations under an advisory lock so concurrent starts are safe. */
  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query(`SELECT pg_advisory_lock(hashtext('spectra_state_migrations'))`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = new Set(
        (await client.query('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
      );
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
            m.version,
            m.name,
          ]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
      }
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('spectra_state_migrations'))`).catch(() => {});
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.q('SELECT 1');
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.recordPool.end()]);
  }

  private readonly syncJobRecords = new JobRecordWriter(
    (jobs) => {
      let text = '';
      for (const j of jobs) {
        const line = jobInsertValues(j).map(copyField).join('\t');
        // COPY would store a lone surrogate as U+FFFD without a word: refused here like any bad text.
        if (hasUnstorableText(line)) throw new Error('the record holds text PostgreSQL cannot store');
        text += `${line}\n`;
      }
      return copyIn(() => this.recordPool.connect(), JOB_COPY_SQL, text);
    },
    (trouble) => this.opts.onJobRecordTrouble?.(trouble),
  );

  readonly tenants = {
    get: async (tenantId: string): Promise<Tenant | null> => {
      const r = await this.q('SELECT * FROM tenants WHERE tenant_id = $1', [tenantId]);
      return r.rows[0] ? rowToTenant(r.rows[0]) : null;
    },
    create: async (t: Tenant): Promise<void> => {
      const r = await this.q(
        `INSERT INTO tenants (tenant_id, name, db_user, db_groups, status, default_permissions, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
        [t.tenantId, t.name, t.dbUser, t.dbGroups, t.status, t.defaultPermissions, t.createdAt, t.updatedAt],
      );
      if (r.rowCount === 0) throw conflict(`tenant ${t.tenantId} already exists (or its db_user is taken)`);
    },
    update: async (
      tenantId: string,
      patch: Partial<Pick<Tenant, 'name' | 'status' | 'defaultPermissions' | 'dbGroups'>>,
    ) => {
      const r = await this.q(
        `UPDATE tenants SET name = COALESCE($2, name), status = COALESCE($3, status),
           default_permissions = COALESCE($4, default_permissions), db_groups = COALESCE($5, db_groups), updated_at = now()
         WHERE tenant_id = $1 RETURNING *`,
        [
          tenantId,
          patch.name ?? null,
          patch.status ?? null,
          patch.defaultPermissions ?? null,
          patch.dbGroups ?? null,
        ],
      );
      if (!r.rows[0]) throw notFound('tenant');
      return rowToTenant(r.rows[0]);
    },
    delete: async (tenantId: string): Promise<void> => {
      // Its keys go with it: a later tenant of the same id must not inherit them.
      await this.q(
        'WITH keys AS (DELETE FROM api_keys WHERE tenant_id = $1) DELETE FROM tenants WHERE tenant_id = $1',
        [tenantId],
      );
    },
    list: async (page: PageRequest): Promise<Page<Tenant>> => {
      const after = page.cursor ? decodeCursor(page.cursor, 1)[0] : '';
      const r = await this.q('SELECT * FROM tenants WHERE tenant_id > $1 ORDER BY tenant_id LIMIT $2', [
        after,
        page.limit + 1,
      ]);
      const items = r.rows.slice(0, page.limit).map(rowToTenant);
      const last = items[items.length - 1];
      return { items, nextCursor: r.rows.length > page.limit && last ? encodeCursor([last.tenantId]) : null };
    },
  };

  readonly apiKeys = {
    get: async (keyId: string): Promise<ApiKeyRecord | null> => {
      const r = await this.q('SELECT * FROM api_keys WHERE key_id = $1', [keyId]);
      return r.rows[0] ? rowToKey(r.rows[0]) : null;
    },
    create: async (k: ApiKeyRecord): Promise<void> => {
      const r = await this.q(
        `INSERT INTO api_keys (key_id, tenant_id, secret_hash, permissions, created_at, expires_at, revoked_at, last_used_at)
         SELECT $1, $2, $3, $4::text[], $5::timestamptz, $6::timestamptz, $7::timestamptz, $8::timestamptz
         WHERE EXISTS (SELECT 1 FROM tenants WHERE tenant_id = $2)`,
        [
          k.keyId,
          k.tenantId,
          k.secretHash,
          k.permissions,
          k.createdAt,
          k.expiresAt,
          k.revokedAt,
          k.lastUsedAt,
        ],
      );
      if (r.rowCount === 0) throw notFound('tenant');
    },
    listByTenant: async (tenantId: string): Promise<ApiKeyRecord[]> => {
      const r = await this.q('SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY created_at', [tenantId]);
      return r.rows.map(rowToKey);
    },
    update: async (
      keyId: string,
      patch: Partial<Pick<ApiKeyRecord, 'revokedAt' | 'expiresAt' | 'lastUsedAt'>>,
    ) => {
      const sets: string[] = [];
      const params: unknown[] = [keyId];
      for (const [field, col] of [
        ['revokedAt', 'revoked_at'],
        ['expiresAt', 'expires_at'],
        ['lastUsedAt', 'last_used_at'],
      ] as const) {
        if (field in patch) {
          params.push(patch[field]);
          sets.push(`${col} = $${params.length}`);
        }
      }
      if (sets.length === 0) return;
      await this.q(`UPDATE api_keys SET ${sets.join(', ')} WHERE key_id = $1`, params);
    },
  };

  readonly jobs = {
    create: async (j: QueryJob): Promise<void> => {
      // A sync query's record is written once, after it ran: it is the audit trail of a finished
      // query, not state anything waits on, so its commit does not wait for the WAL flush
      // (a crash of the control database may lose the last fraction of a second of such
      // records). Async jobs, whose rows drive the worker, keep full durability.
      // Such records are also group-committed: one statement for all that finish together.
      if (!j.async) return this.syncJobRecords.add(j);
      await this.q(
        `INSERT INTO query_jobs (${JOB_INSERT_COLUMNS.join(', ')})
         VALUES (${JOB_INSERT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
        jobInsertValues(j),
      );
    },
    get: async (tenantId: string, jobId: string): Promise<QueryJob | null> => {
      const r = await this.q(
        'SELECT * FROM query_jobs WHERE tenant_id = $1 AND job_id = $2 AND expires_at > now()',
        [tenantId, jobId],
      );
      return r.rows[0] ? rowToJob(r.rows[0]) : null;
    },
    transition: async (
      tenantId: string,
      jobId: string,
      from: readonly JobStatus[],
      patch: JobPatch,
      guard: TransitionGuard = {},
    ) => {
      const params: unknown[] = [tenantId, jobId, from];
      const sets = ['version = version + 1', ...patchAssignments(patch, params)];
      let where = 'tenant_id = $1 AND job_id = $2 AND status = ANY($3) AND expires_at > now()';
      if (guard.leaseOwner !== undefined) {
        params.push(guard.leaseOwner);
        where += ` AND lease_owner = $${params.length}`;
      }
      const r = await this.q(`UPDATE query_jobs SET ${sets.join(', ')} WHERE ${where} RETURNING *`, params);
      if (r.rows[0]) return rowToJob(r.rows[0]);
      const current = await this.jobs.get(tenantId, jobId);
      throw transitionFailure('job', current && { ...current, state: current.status }, from, guard);
    },
    list: async (tenantId: string, filter: { status?: JobStatus | undefined }, page: PageRequest) => {
      const params: unknown[] = [tenantId, filter.status ?? null, page.limit + 1];
      let where = 'tenant_id = $1 AND ($2::text IS NULL OR status = $2) AND expires_at > now()';
      if (page.cursor) {
        const [t, id] = decodeCursor(page.cursor, 2);
        if (Number.isNaN(Date.parse(t!))) throw invalidRequest('malformed cursor', { field: 'cursor' });
        params.push(t, id);
        where += ' AND (submitted_at, job_id) < ($4::timestamptz, $5)';
      }
      const r = await this.q(
        `SELECT * FROM query_jobs WHERE ${where} ORDER BY submitted_at DESC, job_id DESC LIMIT $3`,
        params,
      );
      const items = r.rows.slice(0, page.limit).map(rowToJob);
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: r.rows.length > page.limit && last ? encodeCursor([last.submittedAt, last.jobId]) : null,
      };
    },
  };
}
