/**
 * Bulk jobs on PostgreSQL (`bulk_jobs`, migration 4): records, conditional moves, listing by tenant
 * newest first with state/operation filters, and retention. The queue side is `PostgresJobQueue`
 * with `BULK_QUEUE`.
 */
import type pg from 'pg';
import type { BulkJob, BulkJobState, BulkOperation } from '../../domain/bulk-job.js';
import { invalidRequest } from '../../domain/errors.js';
import type {
  BulkJobPatch,
  BulkJobStore,
  BulkRetentionStore,
  Page,
  PageRequest,
  TransitionGuard,
} from '../port.js';
import { transitionFailure } from '../transition-failure.js';
import { bulkInsertRow, bulkPatchAssignments, rowToBulkJob } from './bulk-rows.js';
import { decodeCursor, encodeCursor } from './cursor.js';

type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

export class PostgresBulkJobs implements BulkJobStore {
  constructor(private readonly q: Query) {}

  async create(job: BulkJob): Promise<void> {
    const row = bulkInsertRow(job);
    await this.q(
      `INSERT INTO bulk_jobs (${row.map(([c]) => c).join(', ')}) VALUES (${row.map((_, i) => `$${i + 1}`).join(', ')})`,
      row.map(([, v]) => v),
    );
  }

  async get(tenantId: string, jobId: string): Promise<BulkJob | null> {
    const r = await this.q(
      'SELECT * FROM bulk_jobs WHERE tenant_id = $1 AND job_id = $2 AND expires_at > now()',
      [tenantId, jobId],
    );
    return r.rows[0] ? rowToBulkJob(r.rows[0]) : null;
  }

  async transition(
    tenantId: string,
    jobId: string,
    from: readonly BulkJobState[],
    patch: BulkJobPatch,
    guard: TransitionGuard = {},
  ): Promise<BulkJob> {
    const params: unknown[] = [tenantId, jobId, from];
    const sets = [
      'version = version + 1',
      'updated_at = clock_timestamp()',
      ...bulkPatchAssignments(patch, params),
    ];
    let where = 'tenant_id = $1 AND job_id = $2 AND state = ANY($3) AND expires_at > now()';
    if (guard.leaseOwner !== undefined) {
      params.push(guard.leaseOwner);
      where += ` AND lease_owner = $${params.length}`;
    }
    const r = await this.q(`UPDATE bulk_jobs SET ${sets.join(', ')} WHERE ${where} RETURNING *`, params);
    if (r.rows[0]) return rowToBulkJob(r.rows[0]);
    throw transitionFailure('bulk job', await this.get(tenantId, jobId), from, guard);
  }

  async list(
    tenantId: string,
    filter: { state?: BulkJobState | undefined; operation?: BulkOperation | undefined },
    page: PageRequest,
  ): Promise<Page<BulkJob>> {
    const params: unknown[] = [tenantId, filter.state ?? null, filter.operation ?? null, page.limit + 1];
    let where =
      'tenant_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR operation = $3) AND expires_at > now()';
    if (page.cursor) {
      const [t, id] = decodeCursor(page.cursor, 2);
      if (Number.isNaN(Date.parse(t!))) throw invalidRequest('malformed cursor', { field: 'cursor' });
      params.push(t, id);
      where += ' AND (created_at, job_id) < ($5::timestamptz, $6)';
    }
    const r = await this.q(
      `SELECT * FROM bulk_jobs WHERE ${where} ORDER BY created_at DESC, job_id DESC LIMIT $4`,
      params,
    );
    const items = r.rows.slice(0, page.limit).map(rowToBulkJob);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: r.rows.length > page.limit && last ? encodeCursor([last.createdAt, last.jobId]) : null,
    };
  }
}

export class PostgresBulkRetention implements BulkRetentionStore {
  constructor(private readonly q: Query) {}

  async deleteExpired(limit: number): Promise<{ tenantId: string; jobId: string }[]> {
    const r = await this.q(
      `DELETE FROM bulk_jobs j USING (
         SELECT tenant_id, job_id FROM bulk_jobs WHERE expires_at <= now() AND state <> 'InProgress'
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) x
       WHERE j.tenant_id = x.tenant_id AND j.job_id = x.job_id
       RETURNING j.tenant_id, j.job_id`,
      [limit],
    );
    return r.rows.map((row) => ({ tenantId: row.tenant_id, jobId: row.job_id }));
  }
}
