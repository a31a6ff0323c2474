import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, isApiError } from '../../../src/domain/errors.js';
import {
  clearPlanCache,
  closePlanner,
  configurePlanner,
  DEFAULT_PLANNER_OPTIONS,
  defaultGuardPolicy,
  initSqlGuard,
  type PlanRequest,
  planCacheStats,
  plannerStats,
  planQueryAsync,
  planQueryUncached,
  type SqlPlan,
} from '../../../src/sql/index.js';
import { PlannerPool } from '../../../src/sql/planner-pool.js';
import { attackCorpus, benignCorpus } from './corpus.js';
import { analyticStatement } from './guard-cost.js';

const policy = defaultGuardPolicy();
/** 100 KB of analytic blocks has hundreds of joins: lift the limit so the whole pipeline runs. */
const roomy = defaultGuardPolicy({ maxJoins: 10_000 });
const ROOT = path.resolve(import.meta.dirname, '../../..');

async function outcome(run: () => Promise<SqlPlan> | SqlPlan) {
  try {
    return { plan: await run() };
  } catch (error) {
    if (!isApiError(error)) throw error;
    return { error: { code: error.code, message: error.message, details: error.details } };
  }
}

/** Runs `work` while timing the event loop; returns the longest gap between 1 ms timer ticks. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  try {
    const result = await work();
    stallMs = Math.max(stallMs, performance.now() - last);
    return { result, stallMs };
  } finally {
    clearInterval(timer);
  }
}

beforeAll(() => initSqlGuard());
beforeEach(() => {
  clearPlanCache();
  configurePlanner(DEFAULT_PLANNER_OPTIONS);
});
afterAll(() => closePlanner());

describe('planQueryAsync', () => {
  it('plans a statement in a worker thread exactly as planQuery does on the main thread', async () => {
    configurePlanner({ offloadChars: 0 });
    for (const [id, req] of [
      ['benign', { sql: benignCorpus[0]!.sql, rowCap: 100 }],
      ['export', { sql: 'SELECT region, :x AS x FROM sales' }],
      ['large', { sql: analyticStatement(20_000), rowCap: 10 }],
    ] as [string, PlanRequest][]) {
      const threaded = await planQueryAsync(req, roomy);
      expect(threaded, id).toEqual(planQueryUncached(req, roomy));
      expect(Object.isFrozen(threaded) && Object.isFrozen(threaded.relations), id).toBe(true);
    }
    expect(plannerStats()).toMatchObject({ running: 1, busy: 0, queued: 0 });
  });

  it('answers every attack and benign corpus entry from a thread with the same plan or ApiError', async () => {
    configurePlanner({ offloadChars: 0, threads: 2 });
    const entries = [...attackCorpus, ...benignCorpus];
    const threaded = await Promise.all(
      entries.map((e) => outcome(() => planQueryAsync({ sql: e.sql, rowCap: 10_000 }, policy))),
    );
    entries.forEach((entry, i) => {
      const inThread = (() => {
        try {
          return { plan: planQueryUncached({ sql: entry.sql, rowCap: 10_000 }, policy) };
        } catch (error) {
          const e = error as ApiError;
          return { error: { code: e.code, message: e.message, details: e.details } };
        }
      })();
      expect(threaded[i], entry.id).toEqual(inThread);
    });
  });

  it('rejects with a real ApiError carrying code, message and details', async () => {
    configurePlanner({ offloadChars: 0 });
    const padding = `/* ${'x'.repeat(6_000)} */ `;
    const rejection = await planQueryAsync({ sql: `${padding}SELECT pg_sleep(10)` }, policy).catch((e) => e);
    expect(rejection).toBeInstanceOf(ApiError);
    expect(rejection).toMatchObject({
      code: 'SQL_BLOCKED',
      status: 400,
      details: { construct: 'function', function: 'pg_sleep', position: padding.length + 8 },
    });
  });

  it('keeps the event loop free while a 100 KB statement is planned', async () => {
    const big = { sql: analyticStatement(98_000), rowCap: 100 };
    await planQueryAsync({ sql: `${big.sql} `, rowCap: 100 }, roomy); // start and warm the thread
    const threaded = await longestStall(() => planQueryAsync(big, roomy));
    clearPlanCache();
    configurePlanner({ threads: 0 });
    const inThread = await longestStall(() => planQueryAsync(big, roomy));
    expect(threaded.result).toEqual(inThread.result);
    // In-thread, the loop is stalled for the whole parse (~70 ms); the thread leaves it ticking.
    expect(inThread.stallMs).toBeGreaterThan(30);
    expect(threaded.stallMs).toBeLessThan(inThread.stallMs / 2);
  });

  it('plans small statements on the calling thread and never starts a worker for them', async () => {
    await closePlanner();
    const plan = await planQueryAsync({ sql: 'SELECT region FROM sales', rowCap: 5 }, policy);
    expect(plan.sql).toBe('SELECT region FROM sales LIMIT 6');
    expect(plannerStats()).toMatchObject({ threads: 1, offloadChars: 4_096, running: 0 });
  });

  it('caches thread outcomes (plans and rejections) in the shared plan cache', async () => {
    configurePlanner({ offloadChars: 0 });
    const req = { sql: 'SELECT region FROM sales', rowCap: 5 };
    const first = await planQueryAsync(req, policy);
    expect(await planQueryAsync(req, policy)).toBe(first);
    const blocked = { sql: 'SELECT pg_read_file($$/etc/passwd$$)' };
    const a = await planQueryAsync(blocked, policy).catch((e) => e);
    const b = await planQueryAsync(blocked, policy).catch((e) => e);
    expect(b).not.toBe(a);
    expect(b).toMatchObject({ code: a.code, message: a.message, details: a.details });
    expect(planCacheStats()).toMatchObject({ entries: 2, hits: 2, misses: 2 });
  });

  it('parses identical concurrent large statements once', async () => {
    configurePlanner({ offloadChars: 0 });
    const req = { sql: analyticStatement(10_000), rowCap: 100 };
    const [a, b] = await Promise.all([planQueryAsync(req, roomy), planQueryAsync(req, roomy)]);
    expect(b).toBe(a);
    expect(planCacheStats()).toMatchObject({ entries: 1 });
  });

  it('checks the length cap before handing anything to a thread', async () => {
    configurePlanner({ offloadChars: 0 });
    await closePlanner();
    const rejection = await planQueryAsync({ sql: `SELECT '${'x'.repeat(100_000)}'` }, policy).catch(
      (e) => e,
    );
    expect(rejection).toMatchObject({ code: 'COMPLEXITY_EXCEEDED', details: { limit: 'max_length' } });
    expect(plannerStats().running).toBe(0);
  });

  it('rejects a bad thread count', () => {
    expect(() => configurePlanner({ threads: -1 })).toThrow(/threads/);
  });
});

describe('planner pool', () => {
  it('turns a statement that outlives its time budget into INTERNAL_ERROR and retires the thread', async () => {
    const pool = new PlannerPool({ size: 1, taskTimeoutMs: 1 });
    try {
      const outcome = await pool.plan({ sql: analyticStatement(98_000) }, roomy);
      expect('error' in outcome && outcome.error).toMatchObject({
        code: 'INTERNAL_ERROR',
        details: { reason: 'planning timed out' },
      });
      expect(pool.stats()).toEqual({ running: 0, busy: 0, queued: 0 });
    } finally {
      await pool.close();
    }
  });

  it('works in a process that registers tsx programmatically, as bin/spectra.js does', async () => {
    const script = `
      import { register } from 'tsx/esm/api';
      register();
      const sql = await import('./src/sql/index.ts');
      await sql.initSqlGuard();
      sql.configurePlanner({ offloadChars: 0 });
      const policy = sql.defaultGuardPolicy();
      const plan = await sql.planQueryAsync({ sql: 'SELECT 1 AS one', rowCap: 1 }, policy);
      const error = await sql.planQueryAsync({ sql: 'SELECT 1; VACUUM' }, policy).catch((e) => e);
      console.log(JSON.stringify({ plan: plan.sql, running: sql.plannerStats().running, code: error.code }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(JSON.parse(stdout)).toEqual({ plan: 'SELECT 1 AS one LIMIT 2', running: 1, code: 'SQL_BLOCKED' });
  });
});
