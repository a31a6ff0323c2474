/**
 * Sync query records are written after the statement ran, group-committed (JobRecordWriter): a
 * record PostgreSQL refuses must neither fail the records batched with it nor vanish silently
 * (issue 16: a lone surrogate in the SQL text lost the record and answered 500). Real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncFieldsUnset, newJobId, type QueryJob } from '../../../src/domain/query-job.js';
import { PostgresStateStore } from '../../../src/state/postgres/index.js';
import type { JobRecordTrouble } from '../../../src/state/postgres/job-record-writer.js';
import { type ControlDb, createControlDb } from '../../helpers/control-db.js';

let control: ControlDb;
let store: PostgresStateStore;
const troubles: JobRecordTrouble[] = [];

beforeAll(async () => {
  control = await createControlDb('job_records');
  store = new PostgresStateStore({
    connectionString: control.url,
    poolSize: 4,
    onJobRecordTrouble: (t) => troubles.push(t),
  });
  await store.migrate();
});
afterAll(async () => {
  await store?.close().catch(() => {});
  await control?.drop();
});

function syncJob(patch: Partial<QueryJob> = {}): QueryJob {
  const now = new Date().toISOString();
  return {
    ...asyncFieldsUnset(),
    jobId: newJobId(),
    tenantId: 'acme',
    status: 'COMPLETED',
    sql: 'SELECT 1 AS x',
    plannedSql: 'SELECT 1 AS x LIMIT 10001',
    async: false,
    rowLimit: 10_000,
    timeoutSeconds: 60,
    submittedAt: now,
    startedAt: now,
    completedAt: now,
    rowCount: 1,
    truncated: false,
    executionTimeMs: 3,
    error: null,
    statementRef: null,
    submittedBy: 'key-test',
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    version: 1,
    ...patch,
  };
}

describe('JobRecordWriter on PostgreSQL', () => {
  it('writes every record of a batch when one holds text PostgreSQL refuses, that one with U+FFFD', async () => {
    troubles.length = 0;
    const good = Array.from({ length: 8 }, () => syncJob());
    const surrogate = syncJob({ sql: 'SELECT 1 AS x -- \ud800' });
    const nul = syncJob({
      status: 'FAILED',
      error: { code: 'QUERY_FAILED', message: 'bad \u0000 byte', details: { 'k\u0000': 'v' } },
    });
    // Issued together: they are group-committed in one or two statements.
    await Promise.all([...good, surrogate, nul].map((j) => store.jobs.create(j)));

    for (const j of good) expect((await store.jobs.get('acme', j.jobId))?.sql).toBe('SELECT 1 AS x');
    expect((await store.jobs.get('acme', surrogate.jobId))?.sql).toBe('SELECT 1 AS x -- \ufffd');
    const storedNul = await store.jobs.get('acme', nul.jobId);
    expect(storedNul?.status).toBe('FAILED');
    expect(storedNul?.error).toEqual({
      code: 'QUERY_FAILED',
      message: 'bad \ufffd byte',
      details: { 'k\ufffd': 'v' },
    });
    expect(troubles.map((t) => [t.jobId, t.fallback]).sort()).toEqual(
      [
        [surrogate.jobId, 'sanitised'],
        [nul.jobId, 'sanitised'],
      ].sort(),
    );
  });

  it('records a query as FAILED, saying why, when even the sanitised record is refused', async () => {
    troubles.length = 0;
    // A row count beyond bigint: no text to repair, so the record is kept as a FAILED one.
    const job = syncJob({ rowCount: 1e30 });
    await store.jobs.create(job);
    const stored = await store.jobs.get('acme', job.jobId);
    expect(stored).toMatchObject({ status: 'FAILED', sql: 'SELECT 1 AS x', rowCount: null });
    expect(stored?.error?.code).toBe('INTERNAL_ERROR');
    expect(stored?.error?.message).toMatch(/could not be stored/);
    expect(troubles).toEqual([expect.objectContaining({ jobId: job.jobId, fallback: 'recorded_as_failed' })]);
  });

  it('rejects, and reports the record lost, only when the store cannot be reached', async () => {
    troubles.length = 0;
    const closed = new PostgresStateStore({
      connectionString: control.url,
      poolSize: 1,
      onJobRecordTrouble: (t) => troubles.push(t),
    });
    await closed.close();
    const job = syncJob();
    await expect(closed.jobs.create(job)).rejects.toMatchObject({ code: 'WAREHOUSE_UNAVAILABLE' });
    expect(troubles).toEqual([expect.objectContaining({ jobId: job.jobId, fallback: 'lost' })]);
  });
});
