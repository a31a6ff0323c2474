/** Counts for metrics at scrape time; each count reads a partial index of active jobs only. */
import type pg from 'pg';
import type { OperationalStats } from '../port.js';

type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

export class PostgresOperationalStats implements OperationalStats {
  constructor(private readonly q: Query) {}

  async activeJobCounts(): Promise<{ kind: string; status: string; count: number }[]> {
    const r = await this.q(
      `SELECT 'query' AS kind, 'QUEUED' AS status, count(*)::int AS count FROM query_jobs WHERE status = 'QUEUED'
       UNION ALL
       SELECT 'query', 'RUNNING', count(*)::int FROM query_jobs WHERE status = 'RUNNING'
       UNION ALL
       SELECT 'bulk', 'UploadComplete', count(*)::int FROM bulk_jobs WHERE state = 'UploadComplete'
       UNION ALL
       SELECT 'bulk', 'InProgress', count(*)::int FROM bulk_jobs WHERE state = 'InProgress'`,
    );
    return r.rows as { kind: string; status: string; count: number }[];
  }
}
