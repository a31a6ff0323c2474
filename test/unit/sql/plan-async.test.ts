import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, isApiError } from '../../../src/domain/errors.js';
import {
  defaultGuardPolicy,
  type GuardPolicy,
  initSqlGuard,
  Planner,
  type PlannerOptions,
  type PlanRequest,
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

const planners: Planner[] = [];
/** A fresh planner (its own cache and threads), closed after the test. */
function planner(guard: GuardPolicy, options: Partial<PlannerOptions> = {}): Planner {
  const p = new Planner(guard, options);
  planners.push(p);
  return p;
}

beforeAll(() => initSqlGuard());
afterEach(async () => {
  for (const p of planners.splice(0)) await p.close();
});

describe('Planner.plan', () => {
  it('plans a statement in a worker thread exactly as planQuery does on the main thread', async () => {
    const threaded = planner(roomy, { offloadChars: 0 });
    for (const [id, req] of [
      ['benign', { sql: benignCorpus[0]!.sql, rowCap: 100 }],
      ['export', { sql: 'SELECT region, :x AS x FROM sales' }],
      ['large', { sql: analyticStatement(20_000), rowCap: 10 }],
    ] as [string, PlanRequest][]) {
      const plan = await threaded.plan(req);
      expect(plan, id).toEqual(planQueryUncached(req, roomy));
      expect(Object.isFrozen(plan) && Object.isFrozen(plan.relations), id).toBe(true);
    }
    expect(threaded.stats()).toMatchObject({ running: 1, busy: 0, queued: 0 });
  });

  it('answers every attack and benign corpus entry from a thread with the same plan or ApiError', async () => {
    const two = planner(policy, { offloadChars: 0, threads: 2 });
    const entries = [...attackCorpus, ...benignCorpus];
    const threaded = await Promise.all(
      entries.map((e) => outcome(() => two.plan({ sql: e.sql, rowCap: 10_000 }))),
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
    const padding = `/* ${'x'.repeat(6_000)} */ `;
    const rejection = await planner(policy, { offloadChars: 0 })
      .plan({ sql: `${padding}SELECT pg_sleep(10)` })
      .catch((e) => e);
    expect(rejection).toBeInstanceOf(ApiError);
    expect(rejection).toMatchObject({
      code: 'SQL_BLOCKED',
      status: 400,
      details: { construct: 'function', function: 'pg_sleep', position: padding.length + 8 },
    });
  });

  it('keeps the event loop free while a 100 KB statement is planned', async () => {
    const big = { sql: analyticStatement(98_000), rowCap: 100 };
    const pooled = planner(roomy);
    await pooled.plan({ sql: `${big.sql} `, rowCap: 100 }); // start and warm the thread
    const threaded = await longestStall(() => pooled.plan(big));
    const alone = planner(roomy, { threads: 0 });
    const inThread = await longestStall(() => alone.plan(big));
    expect(threaded.result).toEqual(inThread.result);
    // In-thread, the loop is stalled for the whole parse (~70 ms); the thread leaves it ticking.
    expect(inThread.stallMs).toBeGreaterThan(30);
    expect(threaded.stallMs).toBeLessThan(inThread.stallMs / 2);
  });

  it('plans small statements on the calling thread and never starts a worker for them', async () => {
    const defaults = planner(policy);
    const plan = await defaults.plan({ sql: 'SELECT region FROM sales', rowCap: 5 });
    expect(plan.sql).toBe('SELECT region FROM sales LIMIT 6');
    expect(defaults.stats()).toMatchObject({ threads: 1, offloadChars: 4_096, running: 0 });
  });

  it('caches thread outcomes (plans and rejections) in its plan cache', async () => {
    const threaded = planner(policy, { offloadChars: 0 });
    const req = { sql: 'SELECT region FROM sales', rowCap: 5 };
    const first = await threaded.plan(req);
    expect(await threaded.plan(req)).toBe(first);
    const blocked = { sql: 'SELECT pg_read_file($$/etc/passwd$$)' };
    const a = await threaded.plan(blocked).catch((e) => e);
    const b = await threaded.plan(blocked).catch((e) => e);
    expect(b).not.toBe(a);
    expect(b).toMatchObject({ code: a.code, message: a.message, details: a.details });
    expect(threaded.cacheStats()).toMatchObject({ entries: 2, hits: 2, misses: 2 });
  });

  it('parses identical concurrent large statements once', async () => {
    const threaded = planner(roomy, { offloadChars: 0 });
    const req = { sql: analyticStatement(10_000), rowCap: 100 };
    const [a, b] = await Promise.all([threaded.plan(req), threaded.plan(req)]);
    expect(b).toBe(a);
    expect(threaded.cacheStats()).toMatchObject({ entries: 1, misses: 2 });
  });

  it('checks the length cap before handing anything to a thread', async () => {
    const threaded = planner(policy, { offloadChars: 0 });
    const rejection = await threaded.plan({ sql: `SELECT '${'x'.repeat(100_000)}'` }).catch((e) => e);
    expect(rejection).toMatchObject({ code: 'COMPLEXITY_EXCEEDED', details: { limit: 'max_length' } });
    expect(threaded.stats().running).toBe(0);
  });

  it('rejects a bad thread count', () => {
    expect(() => new Planner(policy, { threads: -1 })).toThrow(/threads/);
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
      const planner = new sql.Planner(sql.defaultGuardPolicy(), { offloadChars: 0 });
      const plan = await planner.plan({ sql: 'SELECT 1 AS one', rowCap: 1 });
      const error = await planner.plan({ sql: 'SELECT 1; VACUUM' }).catch((e) => e);
      console.log(JSON.stringify({ plan: plan.sql, running: planner.stats().running, code: error.code }));
      await planner.close();
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(JSON.parse(stdout)).toEqual({ plan: 'SELECT 1 AS one LIMIT 2', running: 1, code: 'SQL_BLOCKED' });
  });
});
