/**
 * The Planner: each instance owns its cache and threads, identical concurrent statements are
 * parsed once, and planRequest answers each request limit with one error code.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import { defaultGuardPolicy, initSqlGuard, Planner, type RequestRules } from '../../../src/sql/index.js';
import { analyticStatement } from './guard-cost.js';

const policy = defaultGuardPolicy({ maxLength: 1_000 });
const queryRules: RequestRules<number> = {
  defaultRows: 100,
  maxRows: 1_000,
  defaultTimeoutSeconds: 30,
  maxTimeoutSeconds: 60,
};
const planners: Planner[] = [];
function planner(options: ConstructorParameters<typeof Planner>[1] = {}, guard = policy): Planner {
  const p = new Planner(guard, options);
  planners.push(p);
  return p;
}
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

beforeAll(() => initSqlGuard());
afterEach(async () => {
  for (const p of planners.splice(0)) await p.close();
});

describe('Planner', () => {
  it('two planners do not share a cache', async () => {
    const a = planner();
    const b = planner();
    const req = { sql: 'SELECT region FROM sales', rowCap: 5 };
    const first = await a.plan(req);
    expect(await a.plan(req)).toBe(first);
    expect(a.cacheStats()).toMatchObject({ entries: 1, hits: 1, misses: 1 });
    expect(b.cacheStats()).toMatchObject({ entries: 0, hits: 0, misses: 0 });
    expect(await b.plan(req)).not.toBe(first);
    expect(b.cacheStats()).toMatchObject({ entries: 1, hits: 0, misses: 1 });
  });

  it('parses identical concurrent large statements once, in one thread', async () => {
    const roomy = defaultGuardPolicy({ maxJoins: 10_000 });
    const threaded = planner({ offloadChars: 0 }, roomy);
    const req = { sql: analyticStatement(10_000), rowCap: 100 };
    const all = await Promise.all([threaded.plan(req), threaded.plan(req), threaded.plan(req)]);
    // Thread outcomes are fresh objects per parse: one object means one parse.
    expect(all[1]).toBe(all[0]);
    expect(all[2]).toBe(all[0]);
    expect(threaded.cacheStats()).toMatchObject({ entries: 1, misses: 3 });
    expect(threaded.stats()).toMatchObject({ running: 1, busy: 0, queued: 0 });
  });

  it('planRequest applies the defaults and binds the parameters', async () => {
    const planned = await planner().planRequest(
      { sql: 'SELECT region FROM sales WHERE amount > :min', params: { min: 5 } },
      queryRules,
    );
    expect(planned).toMatchObject({ limit: 100, timeoutSeconds: 30, params: [5] });
    expect(planned.plan.sql).toContain('LIMIT 101');
    const unlimited = await planner().planRequest(
      { sql: 'SELECT region FROM sales', params: {} },
      { ...queryRules, defaultRows: undefined, maxRows: undefined },
    );
    expect(unlimited.limit).toBeUndefined();
    expect(unlimited.plan.returnLimit).toBeNull();
  });

  it('SQL over the length cap is PAYLOAD_TOO_LARGE naming the field, before any parsing', async () => {
    const p = planner();
    const sql = `SELECT 1 AS x ${' '.repeat(1_000)}`;
    expect(await rejection(p.planRequest({ sql, params: {} }, queryRules))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
      message: 'sql is longer than 1000 characters',
      details: { field: 'sql', max_length: 1_000 },
    });
    expect(() => p.checkLength(sql, 'query')).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE', details: { field: 'query', max_length: 1_000 } }),
    );
    expect(p.cacheStats()).toMatchObject({ entries: 0, misses: 0 });
  });

  it('a limit over the maximum is INVALID_REQUEST naming limit', async () => {
    const p = planner();
    expect(
      await rejection(p.planRequest({ sql: 'SELECT 1 AS x', params: {}, limit: 1_001 }, queryRules)),
    ).toMatchObject({
      code: 'INVALID_REQUEST',
      status: 400,
      message: 'limit must be at most 1000; use the Bulk API for larger results',
      details: { field: 'limit', max: 1_000 },
    });
    expect(p.cacheStats().misses).toBe(0);
  });

  it('a timeout over the maximum is INVALID_REQUEST naming timeout_seconds (and the request kind)', async () => {
    const p = planner();
    const req = { sql: 'SELECT 1 AS x', params: {}, timeoutSeconds: 61 };
    expect(await rejection(p.planRequest(req, queryRules))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'timeout_seconds must be at most 60',
      details: { field: 'timeout_seconds', max: 60 },
    });
    const job = { ...queryRules, defaultRows: undefined, timeoutSubject: 'of an async job' };
    expect(await rejection(p.planRequest(req, job))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'timeout_seconds of an async job must be at most 60',
    });
    expect(p.cacheStats().misses).toBe(0);
  });

  describe('a PIVOT over a table on the PostgreSQL target', () => {
    const sql = "SELECT * FROM sales PIVOT (SUM(amount) FOR region IN ('EMEA'))";
    /** The catalog as one tenant sees it (the warehouse adapter's part is tested over HTTP). */
    const catalog = (columns: string[]) => {
      const asked: string[][][] = [];
      return {
        asked,
        columnsOf: async (relations: readonly string[][]) => {
          asked.push(relations.map((r) => [...r]));
          return relations.map(() => columns);
        },
      };
    };

    it.each([
      ['on this thread', {}],
      ['in a thread', { threads: 1, offloadChars: 0 }],
    ])('is completed with the columns the catalog gives (%s)', async (_where, options) => {
      const p = planner(options);
      const tenant = catalog(['region', 'product', 'amount']);
      const plan = await p.plan({ sql, rowCap: 5 }, tenant);
      expect(plan.sql).toContain('GROUP BY product');
      expect(tenant.asked).toEqual([[['sales']]]);
      expect(await p.plan({ sql, rowCap: 5 }, tenant)).toBe(plan);
      expect(tenant.asked).toHaveLength(2);
      const changed = await p.plan({ sql, rowCap: 5 }, catalog(['region', 'amount']));
      expect(changed.sql).not.toContain('GROUP BY');
    });

    it('without a catalog it is refused as before', async () => {
      const error = await rejection(planner().plan({ sql, rowCap: 5 }));
      expect(error).toMatchObject({ code: 'UNSUPPORTED_SYNTAX' });
    });

    it("the catalog's refusal is the answer", async () => {
      const refusing = {
        columnsOf: async () => {
          throw new ApiError('QUERY_FAILED', 'permission denied for table sales', { sqlstate: '42501' });
        },
      };
      const error = await rejection(planner().plan({ sql, rowCap: 5 }, refusing));
      expect(error).toMatchObject({ code: 'QUERY_FAILED' });
    });
  });
});
