/**
 * The job queue and job retention on PostgreSQL. Claims go through `spectra_claim_job` (migration
 * 2), which serialises one tenant's claims with an advisory lock so its RUNNING cap is exact; the
 * `query_jobs_notify` trigger publishes queue events that `subscribe` receives with LISTEN.
 *
 * The queue is generic over a job kind (`QueueTable`): query jobs (`query_jobs`, QUEUED → RUNNING)
 * and bulk jobs (`bulk_jobs`, UploadComplete → InProgress; migration 4) run through the same code,
 * and both claim functions count RUNNING jobs of every kind (`spectra_running_jobs`).
 */
import pg from 'pg';
import type { BulkJob } from '../../domain/bulk-job.js';
import { JOB_ERROR_CODES, type QueryJob } from '../../domain/query-job.js';
import type { JobQueueStore, JobRetentionStore, QueuedJob, QueueEvent, QueueHead } from '../port.js';
import { rowToBulkJob } from './bulk-rows.js';
import { rowToJob } from './job-rows.js';

type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 5000;

/** Where a job kind lives: its table, the state column and values the queue moves between. */
export interface QueueTable<J> {
  table: string;
  stateColumn: string;
  queued: string;
  running: string;
  failed: string;
  /** Queue order (oldest first). */
  orderColumn: string;
  claimFunction: string;
  /** SET assignments for heartbeat progress, with $5 = processed and $6 = failed. */
  progressSet: string;
  /** Extra SET assignments on every queue move. */
  touchSet: string;
  channel: string;
  rowTo(row: Record<string, unknown>): J;
}

export const QUERY_QUEUE: QueueTable<QueryJob> = {
  table: 'query_jobs',
  stateColumn: 'status',
  queued: 'QUEUED',
  running: 'RUNNING',
  failed: 'FAILED',
  orderColumn: 'submitted_at',
  claimFunction: 'spectra_claim_job',
  progressSet: 'rows_fetched = $5',
  touchSet: '',
  channel: 'spectra_jobs',
  rowTo: rowToJob,
};

export const BULK_QUEUE: QueueTable<BulkJob> = {
  table: 'bulk_jobs',
  stateColumn: 'state',
  queued: 'UploadComplete',
  running: 'InProgress',
  failed: 'Failed',
  orderColumn: 'queued_at',
  claimFunction: 'spectra_claim_bulk_job',
  progressSet: 'records_processed = $5, records_failed = $6, updated_at = clock_timestamp()',
  touchSet: ', updated_at = clock_timestamp()',
  channel: 'spectra_bulk_jobs',
  rowTo: rowToBulkJob,
};

export class PostgresJobQueue<J extends QueuedJob = QueryJob> implements JobQueueStore<J> {
  private readonly k: QueueTable<J>;

  constructor(
    private readonly q: Query,
    private readonly listenConfig: pg.ClientConfig,
    kind?: QueueTable<J>,
  ) {
    this.k = kind ?? (QUERY_QUEUE as unknown as QueueTable<J>);
  }

  async heads(opts: { perTenant: number; maxTenants: number }): Promise<QueueHead[]> {
    const { table, stateColumn: st, queued, orderColumn: ord } = this.k;
    // A loose index scan over the tenants with QUEUED jobs, then each one's oldest claimable jobs.
    const r = await this.q(
      `WITH RECURSIVE t(tenant_id) AS (
         (SELECT tenant_id FROM ${table} WHERE ${st} = '${queued}' ORDER BY tenant_id LIMIT 1)
         UNION ALL
         SELECT (SELECT q.tenant_id FROM ${table} q WHERE q.${st} = '${queued}' AND q.tenant_id > t.tenant_id
                 ORDER BY q.tenant_id LIMIT 1)
         FROM t WHERE t.tenant_id IS NOT NULL
       )
       SELECT t.tenant_id, h.jobs, spectra_running_jobs(t.tenant_id) AS running
       FROM t CROSS JOIN LATERAL (
         SELECT json_agg(json_build_object('jobId', c.job_id, 'submittedAt', c.${ord})
                         ORDER BY c.${ord}, c.job_id) AS jobs
         FROM (SELECT job_id, ${ord} FROM ${table} q
               WHERE q.tenant_id = t.tenant_id AND q.${st} = '${queued}' AND q.expires_at > now()
                 AND (q.not_before IS NULL OR q.not_before <= now())
               ORDER BY q.${ord}, q.job_id LIMIT $1) c
       ) h
       WHERE t.tenant_id IS NOT NULL AND h.jobs IS NOT NULL
       LIMIT $2`,
      [opts.perTenant, opts.maxTenants],
    );
    return r.rows.map((row) => ({
      tenantId: row.tenant_id as string,
      jobs: (row.jobs as { jobId: string; submittedAt: string }[]).map((j) => ({
        jobId: j.jobId,
        submittedAt: new Date(j.submittedAt).toISOString(),
      })),
      running: row.running as number,
    }));
  }

  async claim(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    maxRunning: number,
  ): Promise<J | null> {
    const r = await this.q(`SELECT * FROM ${this.k.claimFunction}($1, $2, $3, $4, $5)`, [
      tenantId,
      jobId,
      lease.owner,
      Math.ceil(lease.ms),
      maxRunning,
    ]);
    return r.rows[0] ? this.k.rowTo(r.rows[0]) : null;
  }

  async heartbeat(
    tenantId: string,
    jobId: string,
    lease: { owner: string; ms: number },
    progress: { rowsFetched: number; rowsFailed?: number },
  ): Promise<boolean> {
    const { table, stateColumn: st, running, progressSet } = this.k;
    const params = [tenantId, jobId, lease.owner, Math.ceil(lease.ms), progress.rowsFetched];
    if (progressSet.includes('$6')) params.push(progress.rowsFailed ?? 0);
    const r = await this.q(
      `UPDATE ${table} SET lease_expires_at = clock_timestamp() + $4 * interval '1 millisecond', ${progressSet}
       WHERE tenant_id = $1 AND job_id = $2 AND ${st} = '${running}' AND lease_owner = $3`,
      params,
    );
    return r.rowCount === 1;
  }

  async requeueExpired(maxAttempts: number, limit: number): Promise<{ requeued: J[]; failed: J[] }> {
    const { table, stateColumn: st, queued, running, failed, touchSet } = this.k;
    const r = await this.q(
      `UPDATE ${table} j SET
         ${st} = CASE WHEN j.attempts >= $1 THEN '${failed}' ELSE '${queued}' END,
         completed_at = CASE WHEN j.attempts >= $1 THEN clock_timestamp() END,
         error = CASE WHEN j.attempts >= $1 THEN jsonb_build_object(
           'code', $3::text,
           'message', 'the job was started ' || j.attempts || ' times and its worker stopped each time; giving up',
           'details', jsonb_build_object('attempts', j.attempts)) END,
         lease_owner = NULL, lease_expires_at = NULL, statement_ref = NULL, version = j.version + 1${touchSet}
       FROM (SELECT tenant_id, job_id FROM ${table}
             WHERE ${st} = '${running}' AND lease_expires_at < clock_timestamp()
             ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) x
       WHERE j.tenant_id = x.tenant_id AND j.job_id = x.job_id
         AND j.${st} = '${running}' AND j.lease_expires_at < clock_timestamp()
       RETURNING j.*, j.${st} = '${queued}' AS spectra_requeued`,
      [maxAttempts, limit, JOB_ERROR_CODES.MAX_ATTEMPTS_EXCEEDED],
    );
    const requeued: J[] = [];
    const failedJobs: J[] = [];
    for (const row of r.rows) (row.spectra_requeued ? requeued : failedJobs).push(this.k.rowTo(row));
    return { requeued, failed: failedJobs };
  }

  /** LISTENs on a dedicated connection, reconnecting with backoff; a reconnect is reported as `queued`. */
  async subscribe(onEvent: (event: QueueEvent) => void): Promise<() => Promise<void>> {
    let client: pg.Client | undefined;
    let closed = false;
    let delay = RECONNECT_MIN_MS;
    let retry: NodeJS.Timeout | undefined;

    const connect = async (): Promise<void> => {
      const c = new pg.Client({ ...this.listenConfig, application_name: 'spectra-listen' });
      c.on('notification', (msg) => {
        // 'queued <tenant> <job>' (migration 8; 'queued' alone before it) or 'cancelled <tenant> <job>'.
        const [type, tenantId, jobId] = (msg.payload ?? '').split(' ');
        const named = tenantId && jobId ? { tenantId, jobId } : undefined;
        if (type === 'queued') onEvent(named ? { type, job: named } : { type });
        else if (type === 'cancelled' && named) onEvent({ type, ...named });
      });
      const lost = () => {
        if (client !== c) return;
        client = undefined;
        c.end().catch(() => {});
        if (!closed) schedule();
      };
      c.on('error', lost);
      c.on('end', lost);
      await c.connect();
      await c.query(`LISTEN ${this.k.channel}`);
      if (closed) {
        await c.end().catch(() => {});
        return;
      }
      client = c;
      delay = RECONNECT_MIN_MS;
    };
    const schedule = () => {
      retry = setTimeout(() => {
        connect().then(
          () => onEvent({ type: 'queued' }),
          () => {
            delay = Math.min(delay * 2, RECONNECT_MAX_MS);
            if (!closed) schedule();
          },
        );
      }, delay);
      retry.unref();
    };

    await connect();
    return async () => {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    };
  }
}

export class PostgresJobRetention implements JobRetentionStore {
  constructor(private readonly q: Query) {}

  async expiredResults(limit: number): Promise<{ tenantId: string; jobId: string; key: string }[]> {
    const r = await this.q(
      `SELECT tenant_id, job_id, result->>'key' AS key FROM query_jobs
       WHERE result_expires_at <= now() ORDER BY result_expires_at LIMIT $1`,
      [limit],
    );
    return r.rows.map((row) => ({ tenantId: row.tenant_id, jobId: row.job_id, key: row.key }));
  }

  async clearResult(tenantId: string, jobId: string, key: string): Promise<void> {
    await this.q(
      `UPDATE query_jobs SET result = NULL, result_expires_at = NULL
       WHERE tenant_id = $1 AND job_id = $2 AND result->>'key' = $3`,
      [tenantId, jobId, key],
    );
  }

  async deleteExpired(limit: number): Promise<{ tenantId: string; jobId: string }[]> {
    const r = await this.q(
      `DELETE FROM query_jobs j USING (
         SELECT tenant_id, job_id FROM query_jobs WHERE expires_at <= now() AND status <> 'RUNNING'
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) x
       WHERE j.tenant_id = x.tenant_id AND j.job_id = x.job_id
       RETURNING j.tenant_id, j.job_id`,
      [limit],
    );
    return r.rows.map((row) => ({ tenantId: row.tenant_id, jobId: row.job_id }));
  }
}
