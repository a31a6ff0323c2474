/**
 * The PostgreSQL adapter's capped reads (a sync query whose LIMIT bounds its rows) take one round
 * trip in one of two shapes: a statement without parameters or `;` joins BEGIN/SET and COMMIT in
 * one simple-protocol string (one-string.ts); any other is sent as three pipelined queries. The
 * same statements here go through both shapes and through the cursor, on a pool of one connection,
 * so each statement reuses the connection the previous one left.
 *
 * What must hold for the string shape: the same answers and column types as the others, error
 * positions counted in the statement, and nothing smuggled past the statement. A text that opens
 * a quote or comment fails as a whole, and a second statement is never run. After every failure
 * the connection holds no transaction and no role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import type {
  ColumnInfo,
  ExecutionContext,
  Row,
  RowSink,
  StatementInput,
} from '../../../src/warehouse/port.js';
import type { PostgresWarehouse } from '../../../src/warehouse/postgres/index.js';
import { fitsOneString } from '../../../src/warehouse/postgres/one-string.js';
import { adminClient, pgFacts } from '../../helpers/pg-fixture.js';
import { waitFor } from '../../helpers/time.js';
import { authenticatorWarehouse } from '../../helpers/warehouse-fixture.js';

interface Seen {
  columns: ColumnInfo[];
  rows: Row[];
}

function recorder(): { sink: RowSink; seen: Seen } {
  const seen: Seen = { columns: [], rows: [] };
  return {
    seen,
    sink: {
      columns: (c) => {
        seen.columns = c;
      },
      rows: (batch) => {
        for (const r of batch) seen.rows.push(r);
      },
    },
  };
}

const SHAPES = {
  'one string': { maxRows: 101, boundedByStatement: true },
  cursor: {},
} as const;

describe('PostgreSQL adapter: capped reads in one round trip', () => {
  let warehouse: PostgresWarehouse;
  let tenants: { tenantId: string; dbUser: string }[];
  let seq = 0;
  const ctx = (tenant: number, extra: Partial<ExecutionContext> = {}): ExecutionContext => ({
    tenantId: tenants[tenant]!.tenantId,
    dbUser: tenants[tenant]!.dbUser,
    timeoutMs: 30_000,
    label: `capped-${process.pid}-${++seq}`,
    ...extra,
  });

  async function run(statement: StatementInput, extra: Partial<ExecutionContext>, tenant = 0): Promise<Seen> {
    const { sink, seen } = recorder();
    await warehouse.execute(ctx(tenant, extra), statement, sink);
    return seen;
  }

  async function failure(statement: StatementInput, extra: Partial<ExecutionContext>): Promise<ApiError> {
    const e = await warehouse.execute(ctx(0, extra), statement, recorder().sink).then(
      () => undefined,
      (err) => err,
    );
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }

  /** The one connection is back in the pool with no transaction open and no role set: the next tenant runs as itself. */
  async function connectionIsClean(): Promise<void> {
    const seen = await run(
      {
        sql: 'SELECT current_user::text AS u, session_user::text AS s, now() = statement_timestamp() AS fresh',
        params: [],
      },
      SHAPES['one string'],
      1,
    );
    expect(seen.rows).toEqual([[tenants[1]!.dbUser, pgFacts().authenticator.user, true]]);
    const own = await run(
      { sql: 'SELECT DISTINCT tenant_id FROM sales', params: [] },
      SHAPES['one string'],
      1,
    );
    expect(own.rows).toEqual([[tenants[1]!.tenantId]]);
  }

  beforeAll(() => {
    tenants = pgFacts().tenants;
    warehouse = authenticatorWarehouse(1);
  });
  afterAll(() => warehouse.close());

  it('takes the one-string shape only without parameters and without any `;`', () => {
    expect(fitsOneString('SELECT 1', [])).toBe(true);
    expect(fitsOneString('SELECT $1', ['x'])).toBe(false);
    expect(fitsOneString("SELECT ';' AS s", [])).toBe(false);
    expect(fitsOneString('SELECT 1; SELECT 2', [])).toBe(false);
  });

  const STATEMENTS: [string, StatementInput][] = [
    [
      'typed columns',
      {
        sql: "SELECT 1::int AS i, 2::bigint AS b, 1.50::numeric(6,2) AS n, 'x'::text AS t, true AS f, NULL::int AS z, DATE '2024-01-02' AS d",
        params: [],
      },
    ],
    ['no rows', { sql: 'SELECT sale_id FROM sales WHERE false', params: [] }],
    ['a `;` inside a literal (pipelined shape)', { sql: "SELECT ';' AS s, 'a''b' AS q", params: [] }],
    ['parameters (pipelined shape)', { sql: 'SELECT $1::text AS s, $2::int AS i', params: ['p', 7] }],
    ['a trailing line comment', { sql: 'SELECT 1 AS one -- the end', params: [] }],
    ['a block comment', { sql: 'SELECT /* a; b */ 1 AS one', params: [] }],
    ['the tenant’s rows only', { sql: 'SELECT DISTINCT tenant_id FROM sales', params: [] }],
  ];

  it.each(STATEMENTS)(
    'answers like the cursor, and leaves a clean connection: %s',
    async (_name, statement) => {
      const capped = await run(statement, SHAPES['one string']);
      const cursor = await run(statement, SHAPES.cursor);
      expect(capped).toEqual(cursor);
      if (_name === 'the tenant’s rows only') expect(capped.rows).toEqual([[tenants[0]!.tenantId]]);
      await connectionIsClean();
    },
  );

  it.each(Object.entries(SHAPES))(
    'a failing statement reports its SQLSTATE and a position counted in the statement: %s',
    async (_shape, extra) => {
      const e = await failure({ sql: 'SELECT no_such_column FROM sales LIMIT 1', params: [] }, extra);
      expect(e.code).toBe('QUERY_FAILED');
      expect(e.details).toMatchObject({ sqlstate: '42703', position: 8 });
      await connectionIsClean();
    },
  );

  it('a failing statement with parameters reports its position too (pipelined shape)', async () => {
    const e = await failure(
      { sql: 'SELECT $1::text, no_such_column FROM sales', params: ['x'] },
      SHAPES['one string'],
    );
    expect(e.details).toMatchObject({ sqlstate: '42703', position: 18 });
    await connectionIsClean();
  });

  it.each([
    ['an unterminated string', "SELECT 'abc"],
    ['an unterminated quoted name', 'SELECT "abc'],
    ['an unterminated block comment', 'SELECT 1 /* never closed'],
    ['an unterminated dollar quote', 'SELECT $q$abc'],
    ['a dangling escape string', "SELECT E'abc\\"],
  ])('%s fails as a syntax error and runs nothing after it', async (_name, sql) => {
    const e = await failure({ sql, params: [] }, SHAPES['one string']);
    expect(e.code).toBe('QUERY_FAILED');
    expect(e.details.sqlstate).toBe('42601');
    await connectionIsClean();
  });

  it.each([
    ['after a line comment', 'SELECT 1 AS one -- x\n; RESET ROLE'],
    ['plainly', 'SELECT 1 AS one; SELECT current_user'],
    ['after a closed comment', 'SELECT 1 AS one /* ; */; SET ROLE NONE'],
  ])(
    'a second statement is never run (%s): the text holds a `;`, and one statement is all a query may be',
    async (_name, sql) => {
      const e = await failure({ sql, params: [] }, SHAPES['one string']);
      expect(e.code).toBe('QUERY_FAILED');
      expect(e.details.sqlstate).toBe('42601');
      await connectionIsClean();
    },
  );

  // The runaway runs for minutes: QUERY_TIMEOUT at all proves the SET LOCAL in the same string reached it.
  it('the statement timeout set in the string applies to the statement', async () => {
    const e = await failure(
      { sql: 'SELECT count(*) AS n FROM sales AS a, sales AS b', params: [] },
      { ...SHAPES['one string'], timeoutMs: 300 },
    );
    expect(e.code).toBe('QUERY_TIMEOUT');
    await connectionIsClean();
  });

  it('aborting the signal cancels the statement by its label (set in the string)', async () => {
    const abort = new AbortController();
    const c = ctx(0, { ...SHAPES['one string'], signal: abort.signal });
    const done = warehouse.execute(
      c,
      { sql: 'SELECT count(*) AS n FROM sales AS a, sales AS b', params: [] },
      recorder().sink,
    );
    done.catch(() => {});
    const admin = await adminClient('postgres');
    try {
      // The client backend only: a parallel plan's workers carry the leader's application_name.
      await waitFor(
        async () =>
          (
            await admin.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity
               WHERE backend_type = 'client backend' AND state = 'active' AND application_name LIKE '%' || $1`,
              [c.label],
            )
          ).rows[0].n === 1,
        { what: 'the statement to run under its label' },
      );
    } finally {
      await admin.end();
    }
    abort.abort();
    const e = await done.then(
      () => undefined,
      (err) => err,
    );
    expect(e).toBeInstanceOf(ApiError);
    expect(e.details.reason).toBe('cancelled');
    await connectionIsClean();
  });

  it('a statement that fails at run time after sending rows keeps none of them, and the connection is clean', async () => {
    const e = await failure(
      { sql: 'SELECT 10 / (3 - g) AS x FROM generate_series(1, 5) AS g', params: [] },
      SHAPES['one string'],
    );
    expect(e.details.sqlstate).toBe('22012');
    await connectionIsClean();
  });
});
