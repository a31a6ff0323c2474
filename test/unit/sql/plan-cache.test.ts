import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultGuardPolicy, initSqlGuard, Planner } from '../../../src/sql/index.js';
import { PlanCache } from '../../../src/sql/plan-cache.js';

const policy = defaultGuardPolicy();

let planner: Planner;

beforeAll(() => initSqlGuard());
beforeEach(() => {
  planner = new Planner(policy, { threads: 0 });
});

describe('plan cache', () => {
  it('answers a repeated statement from the cache with the same frozen plan', () => {
    const first = planner.planSync({ sql: 'SELECT region FROM sales', rowCap: 100 });
    const second = planner.planSync({ sql: 'SELECT region FROM sales', rowCap: 100 });
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.relations)).toBe(true);
    expect(planner.cacheStats()).toMatchObject({ entries: 1, hits: 1, misses: 1 });
  });

  it('keys on the row cap, not only on the text; a planner with another policy has its own cache', () => {
    const sql = 'SELECT region FROM sales';
    expect(planner.planSync({ sql, rowCap: 100 }).sql).toContain('LIMIT 101');
    expect(planner.planSync({ sql, rowCap: 5 }).sql).toContain('LIMIT 6');
    expect(planner.planSync({ sql }).sql).toBe('SELECT region FROM sales');
    const strict = new Planner(defaultGuardPolicy({ level: 'strict' }), { threads: 0 });
    expect(() => planner.planSync({ sql: 'SELECT * FROM (SELECT 1) s' })).not.toThrow();
    expect(() => strict.planSync({ sql: 'SELECT * FROM (SELECT 1) s' })).toThrow(/strict/);
    expect(planner.cacheStats().entries).toBe(4);
    expect(strict.cacheStats().entries).toBe(1);
  });

  it('caches rejections too, answering with a fresh error of the same code and details', () => {
    const attempt = () => planner.planSync({ sql: 'SELECT pg_sleep(10)' });
    expect(attempt).toThrow(expect.objectContaining({ code: 'SQL_BLOCKED' }));
    let again: unknown;
    try {
      attempt();
    } catch (error) {
      again = error;
    }
    expect(again).toMatchObject({ code: 'SQL_BLOCKED', details: { function: 'pg_sleep' } });
    expect(planner.cacheStats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('rejects an over-long statement before looking at the cache', () => {
    expect(() => planner.planSync({ sql: `SELECT '${'x'.repeat(100_000)}'` })).toThrow(
      expect.objectContaining({ code: 'COMPLEXITY_EXCEEDED' }),
    );
    expect(planner.cacheStats()).toMatchObject({ entries: 0, misses: 0 });
  });

  it('evicts the least recently used entry and bounds the cached text', () => {
    const cache = new PlanCache<number>(2, 100);
    cache.set('a', 1, 10);
    cache.set('b', 2, 10);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3, 10);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    cache.set('big', 4, 30); // over a quarter of the budget: not cached at all
    expect(cache.get('big')).toBeUndefined();
    cache.set('d', 5, 20);
    cache.set('e', 6, 20);
    expect(cache.stats().chars).toBeLessThanOrEqual(100);
    expect(cache.stats().entries).toBeLessThanOrEqual(2);
  });
});
