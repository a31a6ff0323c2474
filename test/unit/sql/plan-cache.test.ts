import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clearPlanCache,
  defaultGuardPolicy,
  initSqlGuard,
  planCacheStats,
  planQuery,
} from '../../../src/sql/index.js';
import { PlanCache } from '../../../src/sql/plan-cache.js';

const policy = defaultGuardPolicy();

beforeAll(() => initSqlGuard());
beforeEach(() => clearPlanCache());

describe('plan cache', () => {
  it('answers a repeated statement from the cache with the same frozen plan', () => {
    const first = planQuery({ sql: 'SELECT region FROM sales', rowCap: 100 }, policy);
    const second = planQuery({ sql: 'SELECT region FROM sales', rowCap: 100 }, policy);
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.relations)).toBe(true);
    expect(planCacheStats()).toMatchObject({ entries: 1, hits: 1, misses: 1 });
  });

  it('keys on the row cap and on the policy, not only on the text', () => {
    const sql = 'SELECT region FROM sales';
    expect(planQuery({ sql, rowCap: 100 }, policy).sql).toContain('LIMIT 101');
    expect(planQuery({ sql, rowCap: 5 }, policy).sql).toContain('LIMIT 6');
    expect(planQuery({ sql }, policy).sql).toBe('SELECT region FROM sales');
    const strict = defaultGuardPolicy({ level: 'strict' });
    expect(() => planQuery({ sql: 'SELECT * FROM (SELECT 1) s' }, policy)).not.toThrow();
    expect(() => planQuery({ sql: 'SELECT * FROM (SELECT 1) s' }, strict)).toThrow(/strict/);
    expect(planCacheStats().entries).toBe(5);
  });

  it('caches rejections too, answering with a fresh error of the same code and details', () => {
    const attempt = () => planQuery({ sql: 'SELECT pg_sleep(10)' }, policy);
    expect(attempt).toThrow(expect.objectContaining({ code: 'SQL_BLOCKED' }));
    let again: unknown;
    try {
      attempt();
    } catch (error) {
      again = error;
    }
    expect(again).toMatchObject({ code: 'SQL_BLOCKED', details: { function: 'pg_sleep' } });
    expect(planCacheStats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('rejects an over-long statement before looking at the cache', () => {
    expect(() => planQuery({ sql: `SELECT '${'x'.repeat(100_000)}'` }, policy)).toThrow(
      expect.objectContaining({ code: 'COMPLEXITY_EXCEEDED' }),
    );
    expect(planCacheStats()).toMatchObject({ entries: 0, misses: 0 });
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
