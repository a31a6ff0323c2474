/**
 * What only the Data API adapter does, through the real SDK and the fake on the embedded
 * PostgreSQL: session reuse and its fallbacks, CSV/JSON results equal to the PostgreSQL adapter's,
 * paging, and AWS errors as the caller sees them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import type { WarehouseSessionStore } from '../../../src/state/port.js';
import type { ExecutionContext, Warehouse } from '../../../src/warehouse/port.js';
import type { PostgresWarehouse } from '../../../src/warehouse/postgres/index.js';
import {
  InMemorySessionStore,
  type RedshiftDataWarehouse,
} from '../../../src/warehouse/redshift-data/index.js';
import { RecordingSink } from '../../contracts/warehouse-contract.js';
import type { RedshiftDataFake } from '../../fakes/redshift-data-fake.js';
import { adminClient, pgFacts } from '../../helpers/pg-fixture.js';
import { dataApiWarehouse, startRedshiftDataFake } from '../../helpers/redshift-data.js';
import { authenticatorWarehouse } from '../../helpers/warehouse-fixture.js';

let fake: RedshiftDataFake;
const tenants = () => pgFacts().tenants;
const ctxOf = (i: number, extra: Partial<ExecutionContext> = {}): ExecutionContext => ({
  tenantId: tenants()[i]!.tenantId,
  dbUser: tenants()[i]!.dbUser,
  timeoutMs: 20_000,
  ...extra,
});

async function run(w: Warehouse, ctx: ExecutionContext, sql: string, params: unknown[] = []) {
  const sink = new RecordingSink();
  const result = await w.execute(ctx, { sql, params }, sink);
  return { rows: sink.rowsSeen, columns: sink.columnCalls[0] ?? [], result, batches: sink.batches.length };
}

const whoAmI = 'SELECT current_user AS who';

beforeAll(async () => {
  fake = await startRedshiftDataFake({ pageRows: 50, chunkRows: 7 });
});
afterAll(async () => {
  await fake?.stop();
});

describe('session reuse', () => {
  it('20 sequential queries of one tenant open one session and reuse it 19 times', async () => {
    const w = dataApiWarehouse(fake);
    try {
      for (let i = 0; i < 20; i++)
        expect((await run(w, ctxOf(0), whoAmI)).rows).toEqual([[tenants()[0]!.dbUser]]);
      expect(w.sessionStats).toEqual({ hits: 19, misses: 1, created: 1, replaced: 0, sessionless: 0 });
      const ids = new Set(
        fake
          .statementsRun()
          .filter((s) => s.dbUser === tenants()[0]!.dbUser)
          .slice(-20)
          .map((s) => s.sessionId),
      );
      expect(ids.size).toBe(1);
    } finally {
      await w.close();
    }
  });

  it('two tenants never share a session: each statement runs on a session of its own user', async () => {
    const w = dataApiWarehouse(fake);
    try {
      const before = fake.statementsRun().length;
      const runs = Array.from({ length: 24 }, (_, i) => i % 2);
      const seen = await Promise.all(runs.map((t) => run(w, ctxOf(t), whoAmI)));
      for (const [i, s] of seen.entries()) expect(s.rows).toEqual([[tenants()[runs[i]!]!.dbUser]]);
      const statements = fake.statementsRun().slice(before);
      const sessionUser = new Map<string, string>();
      for (const s of statements) {
        if (!s.sessionId) continue; // beyond the per-user cap, statements run without a session
        if (sessionUser.has(s.sessionId)) expect(sessionUser.get(s.sessionId)).toBe(s.dbUser);
        sessionUser.set(s.sessionId, s.dbUser);
      }
      expect(w.sessionStats.sessionless).toBe(statements.filter((s) => !s.sessionId).length);
      // Concurrency opens more than one session per user, never more than the cap (4).
      for (const t of [0, 1]) {
        const n = [...sessionUser.values()].filter((u) => u === tenants()[t]!.dbUser).length;
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(4);
      }
    } finally {
      await w.close();
    }
  });

  it('a session closed by the Data API (expired) is replaced without failing the query', async () => {
    const w = dataApiWarehouse(fake);
    try {
      await run(w, ctxOf(2), whoAmI);
      const first = fake.statementsRun().at(-1)!.sessionId!;
      await fake.closeSession(first);
      expect((await run(w, ctxOf(2), whoAmI)).rows).toEqual([[tenants()[2]!.dbUser]]);
      const second = fake.statementsRun().at(-1)!.sessionId!;
      expect(second).not.toBe(first);
      expect(w.sessionStats).toMatchObject({ replaced: 1, created: 2, hits: 0 });
      expect((await run(w, ctxOf(2), whoAmI)).rows).toEqual([[tenants()[2]!.dbUser]]);
      expect(fake.statementsRun().at(-1)!.sessionId).toBe(second);
    } finally {
      await w.close();
    }
  });

  it('throttling on a reused session fails that query but keeps the session for the next one', async () => {
    // One try per call: what is left when the adapter's retries (redshift-data-failures.test.ts) run out.
    const w = dataApiWarehouse(fake, { retry: { maxAttempts: 1 } });
    try {
      await run(w, ctxOf(1), whoAmI);
      const session = fake.statementsRun().at(-1)!.sessionId;
      fake.failNext('ExecuteStatement', 'ThrottlingException', 'Rate exceeded');
      const e = await run(w, ctxOf(1), whoAmI).catch((x) => x);
      expect(e.code).toBe('RATE_LIMITED');
      await run(w, ctxOf(1), whoAmI);
      expect(fake.statementsRun().at(-1)!.sessionId).toBe(session);
      expect(w.sessionStats).toMatchObject({ created: 1, hits: 1, replaced: 0 });
    } finally {
      await w.close();
    }
  });

  it('a session busy with another process’s statement is passed over for a new one', async () => {
    const shared = new InMemorySessionStore();
    const a = dataApiWarehouse(fake, { sessions: shared });
    // B's store believes A's session is idle, as a stale shared record would.
    let stale: string | undefined;
    const staleStore: WarehouseSessionStore = {
      claim: async (tenantId, dbUser) => ({
        session: {
          sessionId: stale!,
          tenantId,
          dbUser,
          createdAt: Date.now(),
          expiresAt: Date.now() + 60_000,
          claimToken: 'stale',
          claimedUntil: Date.now() + 60_000,
        },
        live: 1,
      }),
      add: async (session, holdUntil) => ({ ...session, claimToken: 'new', claimedUntil: holdUntil }),
      release: async () => true,
      drop: async () => {},
    };
    const b = dataApiWarehouse(fake, { sessions: staleStore });
    // A's statement waits on a lock the test holds, so its session stays busy however slow B is.
    const gate = await adminClient();
    await gate.query('SELECT pg_advisory_lock(740071)');
    try {
      let resolveRef!: () => void;
      const started = new Promise<void>((r) => {
        resolveRef = r;
      });
      const slow = run(
        a,
        ctxOf(0, { onStatement: () => resolveRef() }),
        'SELECT pg_advisory_xact_lock(740071) AS s',
      );
      await started;
      stale = fake.statementsRun().at(-1)!.sessionId;
      expect((await run(b, ctxOf(0), whoAmI)).rows).toEqual([[tenants()[0]!.dbUser]]);
      expect(fake.statementsRun().at(-1)!.sessionId).not.toBe(stale);
      expect(b.sessionStats).toMatchObject({ replaced: 1, created: 1 });
      await gate.query('SELECT pg_advisory_unlock(740071)');
      await slow;
    } finally {
      await gate.end();
      await a.close();
      await b.close();
    }
  });

  it('when the cluster allows no more sessions, statements run without one', async () => {
    const full = await startRedshiftDataFake({ maxSessions: 0 });
    const w = dataApiWarehouse(full);
    try {
      expect((await run(w, ctxOf(1), whoAmI)).rows).toEqual([[tenants()[1]!.dbUser]]);
      expect(w.sessionStats).toMatchObject({ created: 0, sessionless: 1 });
      expect(full.statementsRun().at(-1)!.sessionId).toBeUndefined();
    } finally {
      await w.close();
      await full.stop();
    }
  });
});

/** Every type the PostgreSQL adapter has a rule for, NULLs, and strings that need CSV quoting. */
const TYPED_SQL = `
  SELECT CAST(1 AS smallint) AS i2, 42 AS i4, CAST(9007199254740993 AS bigint) AS big, CAST(12 AS bigint) AS i8,
         CAST(1.50 AS numeric(12,2)) AS dec, CAST('NaN' AS numeric) AS nan, CAST(1.1 AS real) AS r,
         CAST(0.1 AS double precision) AS d, CAST('-Infinity' AS double precision) AS ninf, true AS b,
         CAST('x' AS char(5)) AS ch, CAST('abc' AS varchar(8)) AS vc, 'text' AS t,
         CAST('2024-01-02' AS date) AS dt, CAST('0044-03-15 BC' AS date) AS bc,
         CAST('2024-01-02 03:04:05.12' AS timestamp) AS ts, CAST('2024-01-02 03:04:05.5+00' AS timestamptz) AS tz,
         CAST('03:04:05' AS time) AS tm, CAST('1 day 2 hours' AS interval) AS iv,
         NULL AS nothing, '' AS empty, 'a,"b"' || chr(10) || 'c' AS quoted, 'NULL' AS null_word, ' ' AS space`;

describe('results', () => {
  let pgw: PostgresWarehouse;
  beforeAll(() => {
    pgw = authenticatorWarehouse();
  });
  afterAll(async () => {
    await pgw.close();
  });

  it.each([
    ['CSV, no header line', 'CSV', false],
    ['CSV, header line on every page', 'CSV', true],
    ['typed JSON', 'JSON', false],
  ] as const)(
    '%s: the same column types and JSON values as the PostgreSQL adapter',
    async (_label, format, header) => {
      const f = header ? await startRedshiftDataFake({ csvHeader: true, chunkRows: 1 }) : fake;
      const w = dataApiWarehouse(f, { resultFormat: format });
      try {
        const expected = await run(pgw, ctxOf(0), TYPED_SQL);
        const got = await run(w, ctxOf(0), TYPED_SQL);
        expect(got.columns).toEqual(expected.columns);
        const want = expected.rows.map((r) => [...r]);
        // The SDK reads a typed BIGINT (longValue) into a JS number: beyond 2^53 it cannot be exact.
        if (format === 'JSON') want[0]![2] = 9007199254740992;
        expect(got.rows).toEqual(want);
        expect(got.rows[0]).toContain('');
        expect(got.rows[0]).toContain(null);
      } finally {
        await w.close();
        if (f !== fake) await f.stop();
      }
    },
  );

  it('pages: every row once, in order, across NextToken pages and CSV chunks', async () => {
    const w = dataApiWarehouse(fake);
    try {
      const before = fake.requests.length;
      const got = await run(
        w,
        ctxOf(0),
        'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 333) SELECT g AS n, repeat(chr(44), g % 3) AS s FROM s',
      );
      expect(got.rows.map((r) => r[0])).toEqual(Array.from({ length: 333 }, (_, i) => i + 1));
      expect(got.rows[1]![1]).toBe(',,');
      expect(got.rows[2]![1]).toBe('');
      const pages = fake.requests.slice(before).filter((r) => r.operation === 'GetStatementResultV2');
      expect(pages).toHaveLength(7);
      expect(got.batches).toBe(7);
    } finally {
      await w.close();
    }
  });

  it('maxRows stops fetching pages once it has enough rows', async () => {
    const w = dataApiWarehouse(fake);
    try {
      const before = fake.requests.length;
      const got = await run(
        w,
        ctxOf(0, { maxRows: 60 }),
        'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 1000) SELECT g AS n FROM s',
      );
      expect(got.rows).toHaveLength(60);
      expect(got.result).toMatchObject({ rowCount: 60, stoppedAtMaxRows: true });
      expect(fake.requests.slice(before).filter((r) => r.operation === 'GetStatementResultV2')).toHaveLength(
        2,
      );
    } finally {
      await w.close();
    }
  });

  it('a data row that spells the column names is kept (no header line is assumed)', async () => {
    const w = dataApiWarehouse(fake);
    try {
      expect((await run(w, ctxOf(0), "SELECT 'a' AS a, 'b' AS b")).rows).toEqual([['a', 'b']]);
    } finally {
      await w.close();
    }
  });

  it('an endpoint that refuses ResultFormat CSV: the adapter falls back to typed JSON, for good', async () => {
    const w = dataApiWarehouse(fake);
    try {
      fake.failNext(
        'ExecuteStatement',
        'ValidationException',
        'ResultFormat CSV is not supported in this region',
      );
      const before = fake.requests.length;
      expect((await run(w, ctxOf(0), 'SELECT 1 AS one')).rows).toEqual([[1]]);
      expect((await run(w, ctxOf(0), 'SELECT 2 AS two')).rows).toEqual([[2]]);
      const ops = fake.requests.slice(before);
      expect(ops.filter((r) => r.operation === 'ExecuteStatement').map((r) => r.input.ResultFormat)).toEqual([
        'CSV',
        'JSON',
        'JSON',
      ]);
      expect(ops.some((r) => r.operation === 'GetStatementResultV2')).toBe(false);
    } finally {
      await w.close();
    }
  });
});

describe('authentication as the tenant', () => {
  it('a per-tenant secret on a serverless workgroup runs as the secret’s user', async () => {
    const w = dataApiWarehouse(fake, {
      target: { workgroupName: 'spectra-serverless' },
      auth: {
        kind: 'secret',
        secretArnTemplate: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:spectra/{db_user}',
      },
    });
    try {
      for (const i of [0, 1]) expect((await run(w, ctxOf(i), whoAmI)).rows).toEqual([[tenants()[i]!.dbUser]]);
      const execute = fake.requests.filter((r) => r.operation === 'ExecuteStatement').at(-2)!.input;
      expect(execute).toMatchObject({ WorkgroupName: 'spectra-serverless' });
      expect(execute).not.toHaveProperty('DbUser');
    } finally {
      await w.close();
    }
  });
});

describe('failures', () => {
  async function failure(w: Warehouse, sql = 'SELECT 1'): Promise<ApiError> {
    const e = await run(w, ctxOf(0), sql).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }

  it('a statement the warehouse fails → QUERY_FAILED with its message', async () => {
    const w = dataApiWarehouse(fake);
    try {
      const e = await failure(w, 'SELECT * FROM no_such_table');
      expect([e.code, e.message]).toEqual(['QUERY_FAILED', 'relation "no_such_table" does not exist']);
      expect(e.details.statement_id).toEqual(expect.any(String));
    } finally {
      await w.close();
    }
  });

  it.each([
    ['ExecuteStatement', 'ThrottlingException', 'RATE_LIMITED', 429, 2],
    ['ExecuteStatement', 'ActiveStatementsExceededException', 'WAREHOUSE_UNAVAILABLE', 503, 5],
    ['DescribeStatement', 'InternalServerException', 'WAREHOUSE_UNAVAILABLE', 503, 5],
    ['GetStatementResultV2', 'ThrottlingException', 'RATE_LIMITED', 429, 2],
  ])('%s answering %s → %s (%i, Retry-After %is)', async (operation, type, code, status, retry) => {
    const w = dataApiWarehouse(fake, { sessionKeepAliveSeconds: 0, retry: { maxAttempts: 1 } });
    try {
      fake.failNext(operation, type, 'injected', 1, type === 'InternalServerException' ? 500 : 400);
      const e = await failure(w);
      expect([e.code, e.status, e.retryAfterSeconds]).toEqual([code, status, retry]);
    } finally {
      await w.close();
    }
  });

  it('a statement still running at its deadline is cancelled in the warehouse', async () => {
    const w = dataApiWarehouse(fake) as RedshiftDataWarehouse;
    try {
      const e = await run(
        w,
        ctxOf(0, { timeoutMs: 200 }),
        'SELECT count(*) AS n FROM sales AS a, sales AS b, sales AS c',
      ).catch((x) => x);
      expect(e.code).toBe('QUERY_TIMEOUT');
      expect(fake.statementsRun().at(-1)!.status).toBe('ABORTED');
      expect(fake.requests.some((r) => r.operation === 'CancelStatement')).toBe(true);
    } finally {
      await w.close();
    }
  });
});
