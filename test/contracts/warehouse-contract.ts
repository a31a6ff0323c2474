/**
 * The Warehouse port's contract: what every adapter (PostgreSQL now, the Redshift Data API later)
 * must do, written against the port only. An adapter's test file calls
 * `warehouseContract(name, factory, capabilities)`; the factory builds the adapter over a warehouse
 * holding the demo tables (sales, customers, products with a tenant_id column and RLS per tenant role).
 *
 * Capabilities an engine may lack (killing a session from outside, watching running statements,
 * an unreachable endpoint) are optional on the fixture; their tests are registered only when declared.
 * The optional port method `relationColumns` is declared either way: present, it must keep its
 * promise (on relations the `catalog` fixture creates); absent, the contract checks that it is.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/domain/errors.js';
import type {
  ColumnInfo,
  ExecutionContext,
  ExecutionResult,
  Row,
  RowSink,
  StatementRef,
  Warehouse,
} from '../../src/warehouse/port.js';
import { waitFor } from '../helpers/time.js';

export interface ContractTenant {
  tenantId: string;
  dbUser: string;
}

/** Statements in the engine's dialect; the defaults are plain PostgreSQL. */
export interface ContractSql {
  /** One row, one column `who`: the database user the statement runs as. */
  whoAmI: string;
  /** Runs for minutes on the demo data unless cancelled. */
  runaway: string;
  /** Fails in the warehouse with SQLSTATE `failingSqlstate`. */
  failing: string;
  failingSqlstate: string;
  /** `n` rows of one integer column `n`, 1..n. */
  series(n: number): string;
  /** One row `{s, i}` from two bind parameters: $1 as text, $2 as integer. */
  twoParams: string;
}

export interface WarehouseUnderTest {
  warehouse: Warehouse;
  /** At least three tenants, each with rows in every demo table. */
  tenants: ContractTenant[];
  sql?: Partial<ContractSql>;
  /** Ends the session running `ref` from outside, as an operator or a crash would. */
  killSession?(ref: StatementRef): Promise<void>;
  /** Whether the statement is still running in the warehouse. */
  isRunning?(ref: StatementRef): Promise<boolean>;
  /** The same adapter configured against an endpoint nothing answers on. */
  unreachable?(): Promise<Warehouse>;
  /** What the `relationColumns` cases build their relations with; required when the adapter implements it. */
  catalog?: CatalogFixture;
  close(): Promise<void>;
}

export interface CatalogFixture {
  /** Runs DDL as the warehouse's administrator. */
  admin(sql: string): Promise<void>;
  /** The role every tenant's database user belongs to: a grant to it reaches every tenant. */
  tenantsGroup: string;
  /** The role the adapter logs in as before it becomes a tenant's user. */
  loginUser: string;
}

export type WarehouseFactory = (opts: { poolSize: number }) => Promise<WarehouseUnderTest>;

const DEFAULT_SQL: ContractSql = {
  whoAmI: 'SELECT current_user AS who',
  runaway: 'SELECT count(*) AS n FROM sales AS a, sales AS b',
  failing: 'SELECT 1 / (count(*) - count(*)) AS x FROM sales',
  failingSqlstate: '22012',
  // A recursive WITH, not generate_series: Redshift (and the Data API stand-in) refuse the latter.
  series: (n) =>
    `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ${n}) SELECT g AS n FROM s`,
  twoParams: 'SELECT CAST($1 AS varchar) AS s, CAST($2 AS integer) AS i',
};

const TENANT_TABLES = ['sales', 'customers', 'products'] as const;
/** A result larger than any sane single fetch; rows must arrive in bounded batches. */
const LARGE_RESULT = 50_000;
const MAX_BATCH_ROWS = 10_001;

/** A sink that records everything it is given. */
export class RecordingSink implements RowSink {
  columnCalls: ColumnInfo[][] = [];
  batches: Row[][] = [];
  events: string[] = [];
  constructor(private readonly hooks: { onRows?: (batch: Row[]) => void | Promise<void> } = {}) {}
  columns(columns: ColumnInfo[]): void {
    this.events.push('columns');
    this.columnCalls.push(columns);
  }
  rows(batch: Row[]): void | Promise<void> {
    this.events.push('rows');
    this.batches.push(batch);
    return this.hooks.onRows?.(batch);
  }
  get rowsSeen(): Row[] {
    return this.batches.flat();
  }
}

function ctx(tenant: ContractTenant, extra: Partial<ExecutionContext> = {}): ExecutionContext {
  return { tenantId: tenant.tenantId, dbUser: tenant.dbUser, timeoutMs: 30_000, ...extra };
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected the statement to fail');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `statement` and resolves with its ref once the warehouse reports it (plus a moment to get going). */
function startRunaway(
  w: Warehouse,
  c: ExecutionContext,
  sql: string,
): { ref: Promise<StatementRef>; done: Promise<ExecutionResult> } {
  let resolveRef!: (r: StatementRef) => void;
  const ref = new Promise<StatementRef>((r) => {
    resolveRef = r;
  });
  const done = w.execute({ ...c, onStatement: resolveRef }, { sql, params: [] }, new RecordingSink());
  done.catch(() => {});
  return { ref, done };
}

/** Waits until the statement executes in the warehouse: a cancel sent earlier can miss it. */
async function untilRunning(wut: WarehouseUnderTest, ref: StatementRef): Promise<void> {
  if (wut.isRunning) await waitFor(() => wut.isRunning!(ref), { what: `${ref} to run` });
  else await sleep(100);
}

/** Which optional fixture hooks the adapter provides; tests needing a missing one are not registered. */
export interface ContractCapabilities {
  unreachable: boolean;
  killSession: boolean;
  /** Whether the adapter implements the optional `relationColumns`; either way the contract checks the claim. */
  relationColumns: boolean;
}

export function warehouseContract(
  name: string,
  factory: WarehouseFactory,
  capabilities: ContractCapabilities,
): void {
  describe(`Warehouse contract: ${name}`, () => {
    let wut: WarehouseUnderTest;
    let sql: ContractSql;
    let w: Warehouse;
    let tenants: ContractTenant[];

    beforeAll(async () => {
      wut = await factory({ poolSize: 4 });
      sql = { ...DEFAULT_SQL, ...wut.sql };
      w = wut.warehouse;
      tenants = wut.tenants;
      expect(tenants.length).toBeGreaterThanOrEqual(3);
    });
    afterAll(async () => {
      await wut?.close();
    });

    /** Who the statement ran as and which tenants' rows it saw, for one tenant. */
    async function identity(w: Warehouse, tenant: ContractTenant, table = 'sales') {
      const who = new RecordingSink();
      await w.execute(ctx(tenant), { sql: sql.whoAmI, params: [] }, who);
      const rows = new RecordingSink();
      await w.execute(ctx(tenant), { sql: `SELECT DISTINCT tenant_id FROM ${table}`, params: [] }, rows);
      return { who: who.rowsSeen[0]?.[0], tenants: rows.rowsSeen.map((r) => r[0]) };
    }

    describe('results', () => {
      it('describes the columns once, before any row, with names and type names', async () => {
        const sink = new RecordingSink();
        const result = await w.execute(
          ctx(tenants[0]!),
          { sql: "SELECT CAST(1 AS integer) AS a, CAST('x' AS varchar) AS b", params: [] },
          sink,
        );
        expect(sink.columnCalls).toEqual([
          [
            { name: 'a', type: 'INTEGER' },
            { name: 'b', type: 'VARCHAR' },
          ],
        ]);
        expect(sink.events[0]).toBe('columns');
        expect(sink.rowsSeen).toEqual([[1, 'x']]);
        expect(result).toMatchObject({
          rowCount: 1,
          stoppedAtMaxRows: false,
          statementRef: expect.any(String),
        });
      });

      it('describes the columns of an empty result too', async () => {
        const sink = new RecordingSink();
        const result = await w.execute(
          ctx(tenants[0]!),
          { sql: 'SELECT sale_id, region FROM sales WHERE 1 = 0', params: [] },
          sink,
        );
        expect(sink.columnCalls.map((c) => c.map((x) => x.name))).toEqual([['sale_id', 'region']]);
        expect(sink.rowsSeen).toEqual([]);
        expect(result.rowCount).toBe(0);
      });

      it('binds parameters as values, never as SQL text', async () => {
        const sink = new RecordingSink();
        const evil = "x'; DROP TABLE sales; --";
        await w.execute(ctx(tenants[0]!), { sql: sql.twoParams, params: [evil, 7] }, sink);
        expect(sink.rowsSeen).toEqual([[evil, 7]]);
        const count = new RecordingSink();
        await w.execute(ctx(tenants[0]!), { sql: 'SELECT count(*) AS n FROM sales', params: [] }, count);
        expect(count.rowsSeen[0]![0]).toBeGreaterThan(0);
      });

      it('stops after maxRows and says so; fewer rows than maxRows is a complete result', async () => {
        const capped = new RecordingSink();
        const r1 = await w.execute(
          ctx(tenants[0]!, { maxRows: 11 }),
          { sql: sql.series(100), params: [] },
          capped,
        );
        expect(capped.rowsSeen.map((r) => r[0])).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
        expect(r1).toMatchObject({ rowCount: 11, stoppedAtMaxRows: true });

        const complete = new RecordingSink();
        const r2 = await w.execute(
          ctx(tenants[0]!, { maxRows: 11 }),
          { sql: sql.series(5), params: [] },
          complete,
        );
        expect(complete.rowsSeen).toHaveLength(5);
        expect(r2).toMatchObject({ rowCount: 5, stoppedAtMaxRows: false });
      });

      it.each([
        ['without maxRows', undefined],
        ['with a large maxRows', LARGE_RESULT + 1],
      ])(`streams ${LARGE_RESULT} rows in bounded batches (%s)`, async (_label, maxRows) => {
        const sink = new RecordingSink();
        const result = await w.execute(
          ctx(tenants[0]!, maxRows === undefined ? {} : { maxRows }),
          { sql: sql.series(LARGE_RESULT), params: [] },
          sink,
        );
        expect(result.rowCount).toBe(LARGE_RESULT);
        expect(sink.rowsSeen).toHaveLength(LARGE_RESULT);
        expect(sink.rowsSeen.at(-1)).toEqual([LARGE_RESULT]);
        expect(Math.max(...sink.batches.map((b) => b.length))).toBeLessThanOrEqual(MAX_BATCH_ROWS);
      });

      it('waits for a slow sink: never hands over a batch while the previous one is pending', async () => {
        let pending = 0;
        let overlapped = false;
        const sink = new RecordingSink({
          onRows: async () => {
            if (pending > 0) overlapped = true;
            pending++;
            await sleep(5);
            pending--;
          },
        });
        const result = await w.execute(ctx(tenants[0]!), { sql: sql.series(LARGE_RESULT), params: [] }, sink);
        expect(result.rowCount).toBe(LARGE_RESULT);
        expect(sink.batches.length).toBeGreaterThan(1);
        expect(overlapped).toBe(false);
      });

      it('reports the statement ref before rows arrive, the same one the result carries', async () => {
        let seen: StatementRef | undefined;
        let rowsBeforeRef = false;
        const sink = new RecordingSink({
          onRows: () => {
            if (seen === undefined) rowsBeforeRef = true;
          },
        });
        const result = await w.execute(
          ctx(tenants[0]!, { onStatement: (ref) => (seen = ref), label: 'job-contract1' }),
          { sql: sql.series(3), params: [] },
          sink,
        );
        expect(rowsBeforeRef).toBe(false);
        expect(seen).toBe(result.statementRef);
      });
    });

    // The Query API's sync reads: the guard gave the statement a LIMIT, so the adapter may take it
    // in one round trip (PostgreSQL: one string without parameters, else pipelined). The same
    // answers, isolation and failures as the cursor.
    describe('capped reads (a sync query bounded by its LIMIT)', () => {
      const capped = (tenant: ContractTenant, extra: Partial<ExecutionContext> = {}) =>
        ctx(tenant, { maxRows: 101, boundedByStatement: true, ...extra });

      // The statement is picked once the fixture's SQL is known (it is set in beforeAll).
      it.each([
        ['typed columns', () => "SELECT CAST(1 AS integer) AS a, CAST('x' AS varchar) AS b", []],
        ['an empty result', () => 'SELECT sale_id, region FROM sales WHERE 1 = 0', []],
        ['parameters', () => sql.twoParams, ["x'; DROP TABLE sales; --", 7]],
      ] as [string, () => string, unknown[]][])(
        'answers like the cursor: %s',
        async (_name, text, params) => {
          const one = new RecordingSink();
          const other = new RecordingSink();
          const r1 = await w.execute(capped(tenants[0]!), { sql: text(), params }, one);
          const r2 = await w.execute(ctx(tenants[0]!), { sql: text(), params }, other);
          expect(one.columnCalls).toEqual(other.columnCalls);
          expect(one.rowsSeen).toEqual(other.rowsSeen);
          expect(r1.rowCount).toBe(r2.rowCount);
        },
      );

      it('a result shorter than maxRows is complete', async () => {
        const sink = new RecordingSink();
        const result = await w.execute(
          capped(tenants[0]!, { maxRows: 11 }),
          { sql: sql.series(5), params: [] },
          sink,
        );
        expect(sink.rowsSeen.map((r) => r[0])).toEqual([1, 2, 3, 4, 5]);
        expect(result).toMatchObject({ rowCount: 5, stoppedAtMaxRows: false });
      });

      it('keeps 60 concurrent capped reads of interleaved tenants apart', async () => {
        const runs = Array.from({ length: 60 }, (_, i) => tenants[i % tenants.length]!);
        const seen = await Promise.all(
          runs.map(async (t) => {
            const who = new RecordingSink();
            await w.execute(capped(t), { sql: sql.whoAmI, params: [] }, who);
            const rows = new RecordingSink();
            await w.execute(capped(t), { sql: 'SELECT DISTINCT tenant_id FROM sales', params: [] }, rows);
            return { who: who.rowsSeen[0]?.[0], tenants: rows.rowsSeen.map((r) => r[0]) };
          }),
        );
        seen.forEach((s, i) => {
          expect(s).toEqual({ who: runs[i]!.dbUser, tenants: [runs[i]!.tenantId] });
        });
      });

      it('a warehouse error → QUERY_FAILED with the SQLSTATE, and the next reads run as their tenants', async () => {
        const e = await rejection(
          w.execute(capped(tenants[0]!), { sql: sql.failing, params: [] }, new RecordingSink()),
        );
        expect(e.code).toBe('QUERY_FAILED');
        expect(e.details.sqlstate).toBe(sql.failingSqlstate);
        for (const t of tenants) expect((await identity(w, t)).who).toBe(t.dbUser);
      });
    });

    describe('isolation', () => {
      it('runs every statement as the tenant’s database user, seeing only its rows in every table', async () => {
        for (const tenant of tenants) {
          const { who } = await identity(w, tenant);
          expect(who).toBe(tenant.dbUser);
          for (const table of TENANT_TABLES) {
            expect((await identity(w, tenant, table)).tenants, `${tenant.tenantId} ${table}`).toEqual([
              tenant.tenantId,
            ]);
          }
        }
      });

      it('keeps 60 concurrent statements of interleaved tenants apart', async () => {
        const runs = Array.from({ length: 60 }, (_, i) => tenants[i % tenants.length]!);
        const seen = await Promise.all(runs.map((t) => identity(w, t)));
        seen.forEach((s, i) => {
          expect(s).toEqual({ who: runs[i]!.dbUser, tenants: [runs[i]!.tenantId] });
        });
      });
    });

    describe('failures', () => {
      it('a warehouse error → QUERY_FAILED with the SQLSTATE', async () => {
        const e = await rejection(
          w.execute(ctx(tenants[0]!), { sql: sql.failing, params: [] }, new RecordingSink()),
        );
        expect(e.code).toBe('QUERY_FAILED');
        expect(e.details.sqlstate).toBe(sql.failingSqlstate);
      });

      // The runaway runs for minutes: QUERY_TIMEOUT at all proves the limit stopped it.
      it('a timeout → QUERY_TIMEOUT, and the statement is gone', async () => {
        const { ref, done } = startRunaway(w, ctx(tenants[0]!, { timeoutMs: 300 }), sql.runaway);
        const e = await rejection(done);
        expect(e.code).toBe('QUERY_TIMEOUT');
        if (wut.isRunning) expect(await wut.isRunning(await ref)).toBe(false);
      });

      it('cancel(ref) stops a running statement, which fails as cancelled', async () => {
        const { ref, done } = startRunaway(w, ctx(tenants[0]!), sql.runaway);
        const r = await ref;
        await untilRunning(wut, r);
        expect(await w.cancel(r)).toBe(true);
        const e = await rejection(done);
        expect(e.code).toBe('QUERY_FAILED');
        expect(e.details.reason).toBe('cancelled');
        if (wut.isRunning) expect(await wut.isRunning(r)).toBe(false);
      });

      it('cancel of a finished or unknown statement → false, and harms nothing', async () => {
        const result = await w.execute(
          ctx(tenants[0]!),
          { sql: sql.series(1), params: [] },
          new RecordingSink(),
        );
        expect(await w.cancel(result.statementRef)).toBe(false);
        expect(await w.cancel('not-a-ref')).toBe(false);
        expect((await identity(w, tenants[1]!)).who).toBe(tenants[1]!.dbUser);
      });

      it('aborting the signal cancels the statement', async () => {
        const abort = new AbortController();
        const { ref, done } = startRunaway(w, ctx(tenants[0]!, { signal: abort.signal }), sql.runaway);
        await untilRunning(wut, await ref);
        abort.abort();
        const e = await rejection(done);
        expect(e.details.reason).toBe('cancelled');
      });

      it('an already aborted signal fails before anything runs', async () => {
        const abort = new AbortController();
        abort.abort();
        const sink = new RecordingSink();
        const e = await rejection(
          w.execute(ctx(tenants[0]!, { signal: abort.signal }), { sql: sql.series(1), params: [] }, sink),
        );
        expect(e.details.reason).toBe('cancelled');
        expect(sink.events).toEqual([]);
      });

      it('an error thrown by the sink reaches the caller unchanged', async () => {
        const gone = new Error('client went away');
        const sink = new RecordingSink({
          onRows: () => {
            throw gone;
          },
        });
        await expect(w.execute(ctx(tenants[0]!), { sql: sql.series(10), params: [] }, sink)).rejects.toBe(
          gone,
        );
      });

      it('ping resolves while the warehouse answers', async () => {
        await expect(w.ping()).resolves.toBeUndefined();
      });

      // Registered only for adapters that declare the capability: an inapplicable test is absent, not skipped.
      if (capabilities.unreachable)
        it('an unreachable warehouse → WAREHOUSE_UNAVAILABLE with a retry hint, from ping and execute', async () => {
          const down = await wut.unreachable!();
          try {
            const p = await rejection(down.ping());
            expect(p.code).toBe('WAREHOUSE_UNAVAILABLE');
            const e = await rejection(
              down.execute(ctx(tenants[0]!), { sql: sql.series(1), params: [] }, new RecordingSink()),
            );
            expect(e.code).toBe('WAREHOUSE_UNAVAILABLE');
            expect(e.retryAfterSeconds).toBeGreaterThan(0);
          } finally {
            await down.close();
          }
        });
    });

    // Declared either way: an adapter that has the method must pass these cases, one without it must say so.
    if (!capabilities.relationColumns)
      it('offers no relationColumns, as only a warehouse running Redshift SQL may (it resolves PIVOT itself)', () => {
        expect(w.relationColumns).toBeUndefined();
        expect(w.sqlDialect).toBe('redshift');
      });
    else
      describe('relationColumns', () => {
        const run = randomBytes(3).toString('hex');
        const quoted = (parts: readonly string[]) =>
          parts.map((p) => `"${p.replaceAll('"', '""')}"`).join('.');
        /** A column name that must never reach a tenant who may not read it. */
        const SECRET = `secret_${run}`;
        const TABLE = `rc_${run}_t`;
        const VIEW = `rc_${run}_v`;
        /** A schema off the search_path, readable: it shadows TABLE and alone holds OFF_ONLY. */
        const OFF_PATH = `rc_${run}_off`;
        const OFF_ONLY = `rc_${run}_only`;
        const NO_GRANT = `rc_${run}_nogrant`;
        const PARTIAL = `rc_${run}_partial`;
        /** A schema the tenants have no USAGE on; its table is granted. */
        const NO_USAGE = `rc_${run}_nousage`;
        const FIRST_TENANT_ONLY = `rc_${run}_first`;
        const LOGIN_ONLY = `rc_${run}_login`;
        /** Tables without columns: one readable, one not. */
        const EMPTY = `rc_${run}_empty`;
        const EMPTY_NO_GRANT = `rc_${run}_empty_nogrant`;
        const ODD_SCHEMA = `Odd "S".${run}`;
        const ODD_TABLE = `Mixed Case; "T".${run}`;
        let fixture: CatalogFixture;

        beforeAll(async () => {
          expect(wut.catalog, 'an adapter with relationColumns provides a catalog fixture').toBeDefined();
          fixture = wut.catalog!;
          const group = quoted([fixture.tenantsGroup]);
          const odd = quoted([ODD_SCHEMA, ODD_TABLE]);
          await fixture.admin(`
            CREATE TABLE public.${TABLE} (z_last integer, dropped integer, a_first text, "Mid Case" date);
            ALTER TABLE public.${TABLE} DROP COLUMN dropped;
            ALTER TABLE public.${TABLE} ADD COLUMN added boolean;
            CREATE VIEW public.${VIEW} AS SELECT a_first AS label, z_last * 2 AS doubled FROM public.${TABLE};
            CREATE SCHEMA ${OFF_PATH};
            CREATE TABLE ${OFF_PATH}.${TABLE} (shadow integer);
            CREATE TABLE ${OFF_PATH}.${OFF_ONLY} (y text, x integer);
            CREATE TABLE public.${NO_GRANT} (${SECRET} integer, region text);
            CREATE TABLE public.${PARTIAL} (${SECRET} text, region text, amount integer);
            CREATE SCHEMA ${NO_USAGE};
            CREATE TABLE ${NO_USAGE}.t (${SECRET} integer, region text);
            CREATE TABLE public.${FIRST_TENANT_ONLY} (${SECRET} integer, region text);
            CREATE TABLE public.${LOGIN_ONLY} (${SECRET} integer, region text);
            CREATE TABLE public.${EMPTY} ();
            CREATE TABLE public.${EMPTY_NO_GRANT} ();
            CREATE SCHEMA ${quoted([ODD_SCHEMA])};
            CREATE TABLE ${odd} ("a ""b"" c" integer, "Ü.x" text, lower integer);
            GRANT USAGE ON SCHEMA ${OFF_PATH}, ${quoted([ODD_SCHEMA])} TO ${group};
            GRANT SELECT ON public.${TABLE}, public.${VIEW}, ${OFF_PATH}.${TABLE}, ${OFF_PATH}.${OFF_ONLY},
              ${NO_USAGE}.t, ${odd}, public.${EMPTY} TO ${group};
            GRANT SELECT (region, amount) ON public.${PARTIAL} TO ${group};
            GRANT SELECT ON public.${FIRST_TENANT_ONLY} TO ${quoted([tenants[0]!.dbUser])};
            GRANT SELECT ON public.${LOGIN_ONLY} TO ${quoted([fixture.loginUser])};`);
        });
        afterAll(async () => {
          await fixture?.admin(`
            DROP SCHEMA IF EXISTS ${OFF_PATH}, ${NO_USAGE}, ${quoted([ODD_SCHEMA])} CASCADE;
            DROP VIEW IF EXISTS public.${VIEW};
            DROP TABLE IF EXISTS public.${TABLE}, public.${NO_GRANT}, public.${PARTIAL},
              public.${FIRST_TENANT_ONLY}, public.${LOGIN_ONLY}, public.${EMPTY}, public.${EMPTY_NO_GRANT};`);
        });

        const columnsOf = (tenant: ContractTenant, ...relations: string[][]) =>
          w.relationColumns!(ctx(tenant), relations);

        /** The columns `SELECT *` of the relation has when the same tenant's statement names it so. */
        async function statementColumns(tenant: ContractTenant, parts: string[]): Promise<string[]> {
          const sink = new RecordingSink();
          await w.execute(
            ctx(tenant),
            { sql: `SELECT * FROM ${quoted(parts)} WHERE 1 = 0`, params: [] },
            sink,
          );
          return sink.columnCalls[0]!.map((c) => c.name);
        }

        async function readsAsTheStatement(tenant: ContractTenant, parts: string[], expected: string[]) {
          expect(await columnsOf(tenant, parts), parts.join('.')).toEqual([expected]);
          expect(await statementColumns(tenant, parts), parts.join('.')).toEqual(expected);
        }

        /** Refused as `SELECT *` of it is: QUERY_FAILED, same SQLSTATE and message, and no column named. */
        async function refusedAsTheStatement(tenant: ContractTenant, parts: string[], sqlstate: string) {
          const e = await rejection(columnsOf(tenant, parts));
          const s = await rejection(
            w.execute(
              ctx(tenant),
              { sql: `SELECT * FROM ${quoted(parts)}`, params: [] },
              new RecordingSink(),
            ),
          );
          expect(
            { code: e.code, status: e.status, sqlstate: e.details.sqlstate, message: e.message },
            parts.join('.'),
          ).toEqual({ code: 'QUERY_FAILED', status: 422, sqlstate, message: s.message });
          expect(s.details.sqlstate).toBe(sqlstate);
          expect(`${e.message} ${JSON.stringify(e.details)}`).not.toContain(SECRET);
        }

        it('is offered', () => {
          expect(w.relationColumns).toBeTypeOf('function');
        });

        it('gives a readable table’s columns in table order (dropped ones left out), one list per relation asked', async () => {
          const t = tenants[0]!;
          await readsAsTheStatement(t, [TABLE], ['z_last', 'a_first', 'Mid Case', 'added']);
          await readsAsTheStatement(t, ['sales'], await statementColumns(t, ['sales']));
          expect(await columnsOf(t, ['customers'], [TABLE], ['customers'])).toEqual([
            await statementColumns(t, ['customers']),
            ['z_last', 'a_first', 'Mid Case', 'added'],
            await statementColumns(t, ['customers']),
          ]);
        });

        it('gives a readable table without columns no columns, not a refusal', async () => {
          await readsAsTheStatement(tenants[0]!, [EMPTY], []);
        });

        it('gives a view’s columns in its select-list order', async () => {
          await readsAsTheStatement(tenants[1]!, [VIEW], ['label', 'doubled']);
        });

        it('resolves schema-qualified names, and unqualified ones on the tenant’s search_path only', async () => {
          const t = tenants[0]!;
          await readsAsTheStatement(t, [OFF_PATH, TABLE], ['shadow']);
          await readsAsTheStatement(t, ['public', TABLE], ['z_last', 'a_first', 'Mid Case', 'added']);
          await readsAsTheStatement(t, [OFF_PATH, OFF_ONLY], ['y', 'x']);
          // The shadowing table is off the path: the unqualified name is public's.
          await readsAsTheStatement(t, [TABLE], ['z_last', 'a_first', 'Mid Case', 'added']);
          await refusedAsTheStatement(t, [OFF_ONLY], '42P01');
        });

        it('takes name parts as identifiers: quotes, dots, spaces and case are part of the name', async () => {
          const t = tenants[2]!;
          await readsAsTheStatement(t, [ODD_SCHEMA, ODD_TABLE], ['a "b" c', 'Ü.x', 'lower']);
          await refusedAsTheStatement(t, [ODD_SCHEMA.toLowerCase(), ODD_TABLE], '42P01');
          await refusedAsTheStatement(t, [ODD_SCHEMA, ODD_TABLE.toLowerCase()], '42P01');
          await refusedAsTheStatement(t, [`${ODD_SCHEMA}.${ODD_TABLE}`], '42P01');
        });

        it('a relation that does not exist → QUERY_FAILED (422) as the statement’s', async () => {
          const t = tenants[0]!;
          await refusedAsTheStatement(t, [`rc_${run}_nowhere`], '42P01');
          await refusedAsTheStatement(t, [OFF_PATH, `rc_${run}_nowhere`], '42P01');
          await refusedAsTheStatement(t, [`rc_${run}_no_schema`, TABLE], '42P01');
          // One unknown relation fails the whole request.
          await expect(columnsOf(t, [TABLE], [`rc_${run}_nowhere`])).rejects.toMatchObject({
            code: 'QUERY_FAILED',
          });
        });

        it('a relation the tenant cannot read whole → QUERY_FAILED (422) naming no column', async () => {
          const t = tenants[1]!;
          await refusedAsTheStatement(t, [NO_GRANT], '42501');
          await refusedAsTheStatement(t, [PARTIAL], '42501');
          await refusedAsTheStatement(t, [NO_USAGE, 't'], '42501');
          await refusedAsTheStatement(t, [EMPTY_NO_GRANT], '42501');
        });

        it('reads with the tenant’s own privileges: not the login role’s, nor another tenant’s', async () => {
          const [first, second] = tenants as [ContractTenant, ContractTenant];
          await readsAsTheStatement(first, [FIRST_TENANT_ONLY], [SECRET, 'region']);
          await refusedAsTheStatement(second, [FIRST_TENANT_ONLY], '42501');
          await refusedAsTheStatement(first, [LOGIN_ONLY], '42501');
        });
      });

    describe.each([1, 4])('pool safety (pool size %i)', (poolSize) => {
      let pool: WarehouseUnderTest;
      beforeAll(async () => {
        pool = await factory({ poolSize });
      });
      afterAll(async () => {
        await pool?.close();
      });

      /** Starts `failure` as the first tenant, then at once the others (and the first again) on the same pool. */
      async function thenOthersRunAsThemselves(failure: (tenant: ContractTenant) => Promise<unknown>) {
        const [first, ...others] = tenants;
        const failed = failure(first!).then(
          () => 'succeeded',
          (e) => (e instanceof ApiError ? e.code : String(e)),
        );
        const followers = [...others, first!, ...others].map(async (t) => ({
          expected: { who: t.dbUser, tenants: [t.tenantId] },
          seen: await identity(pool.warehouse, t),
        }));
        const results = await Promise.all(followers);
        for (const r of results) expect(r.seen).toEqual(r.expected);
        return failed;
      }

      it('after a warehouse error', async () => {
        const outcome = await thenOthersRunAsThemselves((t) =>
          pool.warehouse.execute(ctx(t), { sql: sql.failing, params: [] }, new RecordingSink()),
        );
        expect(outcome).toBe('QUERY_FAILED');
      });

      it('after a timeout', async () => {
        const outcome = await thenOthersRunAsThemselves(
          (t) => startRunaway(pool.warehouse, ctx(t, { timeoutMs: 200 }), sql.runaway).done,
        );
        expect(outcome).toBe('QUERY_TIMEOUT');
      });

      it('after a cancel', async () => {
        const outcome = await thenOthersRunAsThemselves(async (t) => {
          const { ref, done } = startRunaway(pool.warehouse, ctx(t), sql.runaway);
          await untilRunning(pool, await ref);
          await pool.warehouse.cancel(await ref);
          return done;
        });
        expect(outcome).toBe('QUERY_FAILED');
      });

      it('after a sink failure mid-result', async () => {
        const outcome = await thenOthersRunAsThemselves((t) =>
          pool.warehouse.execute(
            ctx(t),
            { sql: sql.series(LARGE_RESULT), params: [] },
            new RecordingSink({
              onRows: () => {
                throw new Error('client went away');
              },
            }),
          ),
        );
        expect(outcome).toBe('Error: client went away');
      });

      if (capabilities.killSession)
        it('after its session was killed while a statement ran', async () => {
          const kill = pool.killSession!.bind(pool);
          const outcome = await thenOthersRunAsThemselves(async (tenant) => {
            const { ref, done } = startRunaway(pool.warehouse, ctx(tenant), sql.runaway);
            await kill(await ref);
            return done;
          });
          expect(outcome).toBe('WAREHOUSE_UNAVAILABLE');
        });

      it('after all of these, the pool still serves every tenant as itself', async () => {
        for (const t of tenants)
          expect(await identity(pool.warehouse, t)).toEqual({ who: t.dbUser, tenants: [t.tenantId] });
      });
    });
  });
}
