/**
 * Result memory limits of the PostgreSQL adapter on the run's embedded PostgreSQL: a row over
 * SPECTRA_MAX_ROW_BYTES fails its statement before it is read (both pools and COPY), the backend
 * stops, and the connection is never reused; the byte cap stops reading while rows arrive; and
 * every byte read is paid for in the process budget, which a stream hands back batch by batch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import { ResultMemoryBudget } from '../../../src/services/result-memory-budget.js';
import type { ExecutionContext, Row, RowSink } from '../../../src/warehouse/port.js';
import type { PostgresWarehouse } from '../../../src/warehouse/postgres/index.js';
import { adminClient, pgFacts } from '../../helpers/pg-fixture.js';
import { authenticatorWarehouse } from '../../helpers/warehouse-fixture.js';

const MiB = 1 << 20;

function sinkInto(target: Row[], onBatch?: () => void | Promise<void>): RowSink {
  return {
    columns: () => {},
    rows: (batch) => {
      for (const r of batch) target.push(r);
      return onBatch?.();
    },
  };
}

/** Statements with this label still known to the server (running, or their session alive). */
async function sessionsLabelled(label: string): Promise<number> {
  const c = await adminClient('postgres');
  try {
    const { rows } = await c.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE '%' || $1`,
      [label],
    );
    return rows[0].n;
  } finally {
    await c.end();
  }
}

/** The label's session ends (the backend noticed the closed socket or the cancel). */
async function untilGone(label: string): Promise<number> {
  let n = await sessionsLabelled(label);
  for (let i = 0; i < 200 && n > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    n = await sessionsLabelled(label);
  }
  return n;
}

describe('PostgreSQL adapter: result memory limits', () => {
  let warehouse: PostgresWarehouse;
  let budget: ResultMemoryBudget;
  let base: ExecutionContext;
  let seq = 0;
  const ctx = (extra: Partial<ExecutionContext> = {}): ExecutionContext => ({
    ...base,
    label: `limits-${process.pid}-${++seq}`,
    ...extra,
  });

  beforeAll(() => {
    const f = pgFacts();
    budget = new ResultMemoryBudget({ capacityBytes: 4 * MiB, maxWaitMs: 5000 });
    warehouse = authenticatorWarehouse(2, { maxRowBytes: MiB, resultMemory: budget });
    const t = f.tenants[0]!;
    base = { tenantId: t.tenantId, dbUser: t.dbUser, timeoutMs: 30_000 };
  });
  afterAll(() => warehouse.close());

  const bigRow = { sql: `SELECT 1 AS a, repeat('x', 3 * 1024 * 1024) AS huge`, params: [] };
  const bigRowParam = { sql: `SELECT $1::int AS a, repeat('x', 3 * 1024 * 1024) AS huge`, params: [1] };

  it.each([
    ['one string (capped sync read)', { maxRows: 11, boundedByStatement: true }, bigRow],
    ['pipelined (capped sync read with parameters)', { maxRows: 11, boundedByStatement: true }, bigRowParam],
    ['cursor (stream)', {}, bigRow],
  ])('a row over the limit fails with 413 before it is read: %s', async (_name, extra, statement) => {
    const c = ctx(extra);
    const before = warehouse.poolStats.total;
    const err = await warehouse.execute(c, statement, sinkInto([])).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('RESULT_TOO_LARGE');
    expect(err.details).toMatchObject({
      reason: 'row_too_large',
      max_row_bytes: MiB,
      setting: 'SPECTRA_MAX_ROW_BYTES',
    });
    // The connection was destroyed, not returned to the pool, and the backend is gone.
    expect(warehouse.poolStats.total).toBeLessThanOrEqual(before);
    expect(await untilGone(c.label!)).toBe(0);
    expect(budget.stats.usedBytes).toBe(0);
    // The pool still serves.
    const rows: Row[] = [];
    await warehouse.execute(ctx(extra), { sql: 'SELECT 42 AS n', params: [] }, sinkInto(rows));
    expect(rows).toEqual([[42]]);
  });

  it('a long-running statement whose first row is too large does not keep running', async () => {
    const c = ctx();
    const sql = `SELECT g, repeat('x', 2 * 1024 * 1024) AS huge FROM generate_series(1, 100000) AS g`;
    const err = await warehouse.execute(c, { sql, params: [] }, sinkInto([])).catch((e) => e);
    expect(err.code).toBe('RESULT_TOO_LARGE');
    expect(await untilGone(c.label!)).toBe(0);
  });

  it('a bulk export (COPY) line over the limit fails with 413 and the backend stops', async () => {
    const c = ctx();
    const chunks: Uint8Array[] = [];
    const err = await warehouse
      .copyOut(c, bigRow, { delimiter: ',' }, { columns: () => {}, data: (b) => void chunks.push(b) })
      .catch((e) => e);
    expect(err.code).toBe('RESULT_TOO_LARGE');
    expect(await untilGone(c.label!)).toBe(0);
    const ok: Uint8Array[] = [];
    await warehouse.copyOut(
      ctx(),
      { sql: 'SELECT 1 AS n', params: [] },
      { delimiter: ',' },
      { columns: () => {}, data: (b) => void ok.push(b) },
    );
    expect(Buffer.concat(ok).toString()).toBe('1\n');
  });

  const wide = { sql: `SELECT g, repeat('x', 100000) AS w FROM generate_series(1, 100) AS g`, params: [] };
  const wideParam = {
    sql: `SELECT g, repeat($1, 100000) AS w FROM generate_series(1, 100) AS g`,
    params: ['x'],
  };

  it.each([
    ['one string', { maxRows: 101, boundedByStatement: true }, wide],
    ['pipelined (parameters)', { maxRows: 101, boundedByStatement: true }, wideParam],
    ['cursor', {}, wide],
  ])(
    'the byte cap stops reading as rows arrive and keeps the rows before it: %s',
    async (_name, extra, statement) => {
      const c = ctx({ ...extra, maxResultBytes: MiB });
      const rows: Row[] = [];
      const result = await warehouse.execute(c, statement, sinkInto(rows));
      expect(result.stoppedAtMaxBytes).toBe(true);
      // 1 MiB of ~100 KB rows: ten of them, in order, whole.
      expect(rows.length).toBe(10);
      expect(rows.map((r) => r[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(rows.every((r) => (r[1] as string).length === 100000)).toBe(true);
      expect(await untilGone(c.label!)).toBe(0);
      expect(budget.stats.usedBytes).toBe(0);
    },
  );

  it('under the byte cap a result is whole and not marked', async () => {
    const rows: Row[] = [];
    const result = await warehouse.execute(ctx({ maxResultBytes: 64 * MiB }), wide, sinkInto(rows));
    expect(result.stoppedAtMaxBytes).toBeFalsy();
    expect(rows.length).toBe(100);
  });

  it('a stream larger than the whole budget completes: each batch is paid for before it is read and handed back once taken', async () => {
    // 30 MB of 100 KB rows through a 4 MiB budget.
    let peak = 0;
    const rows: Row[] = [];
    const result = await warehouse.execute(
      ctx(),
      { sql: `SELECT g, repeat('x', 100000) AS w FROM generate_series(1, 300) AS g`, params: [] },
      sinkInto(rows, () => {
        peak = Math.max(peak, budget.stats.usedBytes);
        rows.length = 0;
      }),
    );
    expect(result.rowCount).toBe(300);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(4 * MiB);
    expect(budget.stats.usedBytes).toBe(0);
  });

  it('a stream fetches one batch ahead: while the sink holds a batch, the next arrives and is paid for', async () => {
    // 100 KB rows through a 4 MiB budget: fetches of two rows (half of the statement's 512 KiB share each).
    const arrivedWhileHeld: boolean[] = [];
    const rows: Row[] = [];
    const result = await warehouse.execute(
      ctx(),
      { sql: `SELECT g, repeat('x', 100000) AS w FROM generate_series(1, 20) AS g`, params: [] },
      sinkInto(rows, async () => {
        if (arrivedWhileHeld.length >= 3) return;
        const held = budget.stats.usedBytes;
        // No fetch in flight, nothing more ever arrives: give up after a bounded number of looks.
        let grew = false;
        for (let i = 0; i < 100 && !grew; i++) {
          await new Promise((r) => setTimeout(r, 20));
          grew = budget.stats.usedBytes > held;
        }
        arrivedWhileHeld.push(grew);
      }),
    );
    expect(result.rowCount).toBe(20);
    expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(arrivedWhileHeld).toEqual([true, true, true]);
    expect(budget.stats.usedBytes).toBe(0);
  });

  it('a result that must be held whole and exceeds the budget fails with 503 and Retry-After', async () => {
    const account = budget.open(undefined, { holdUntilClose: true });
    const err = await warehouse
      .execute(
        ctx({ resultMemory: account }),
        { sql: `SELECT g, repeat('x', 100000) AS w FROM generate_series(1, 100) AS g`, params: [] },
        sinkInto([]),
      )
      .catch((e) => e);
    account.close();
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('WAREHOUSE_UNAVAILABLE');
    expect(err.details.reason).toBe('result_memory');
    expect(err.retryAfterSeconds).toBeGreaterThan(0);
    expect(budget.stats.usedBytes).toBe(0);
  });
});
