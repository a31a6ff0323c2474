import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiError, isApiError } from '../../../src/domain/errors.js';
import { defaultGuardPolicy, initSqlGuard, planQueryUncached } from '../../../src/sql/index.js';

const policy = defaultGuardPolicy();
const plan = (sql: string) => planQueryUncached({ sql }, policy);
const rejection = (sql: string): ApiError => {
  try {
    plan(sql);
  } catch (error) {
    if (isApiError(error)) return error;
    throw error;
  }
  throw new Error(`accepted: ${sql}`);
};

beforeAll(() => initSqlGuard());

describe('named placeholders', () => {
  it('become $1..$n in order of first use, the same name keeping its number', () => {
    const p = plan('SELECT :region, amount > :min, :region AS again FROM sales');
    expect(p.paramNames).toEqual(['region', 'min']);
    expect(p.sql).toBe('SELECT $1, amount > $2, $1 AS again FROM sales');
  });

  it('are never found inside strings, comments, dollar-quoted bodies, quoted identifiers or :: casts', () => {
    const p = plan(
      "SELECT ':a', E':b', $$ :c $$, $q$:d$q$, \"x:e\" FROM sales /* :f */ WHERE sold_at::date = :g::date -- :h",
    );
    expect(p.paramNames).toEqual(['g']);
    expect(p.sql).toContain("':a'");
    expect(p.sql).toContain("' :c '");
  });

  it('accept keywords, underscores and digits as names', () => {
    expect(plan('SELECT :limit, :_x, :a1_b2, :from').paramNames).toEqual(['limit', '_x', 'a1_b2', 'from']);
  });

  it('leave array slices alone; [:n] and (:n) inside brackets are placeholders (SUPER has no slices)', () => {
    expect(plan('SELECT a[1:n] FROM t').paramNames).toEqual([]);
    expect(plan('SELECT a[:n] FROM t').paramNames).toEqual(['n']);
    expect(plan('SELECT c.orders[:i].id FROM t AS c').paramNames).toEqual(['i']);
    expect(plan('SELECT a[(:lo):(:hi)] FROM t').paramNames).toEqual(['lo', 'hi']);
  });

  it('are not read out of a word glued to a colon (a:b is a syntax error, not a:$1)', () => {
    expect(rejection('SELECT a:b FROM t').code).toBe('INVALID_SQL');
  });

  it('tenant-written $1 is rejected with a hint to use :name', () => {
    const error = rejection('SELECT * FROM sales WHERE sale_id = $1');
    expect(error.code).toBe('INVALID_SQL');
    expect(error.details).toMatchObject({ construct: '$1', position: 37 });
    expect(String(error.details.hint)).toContain(':name');
  });

  it('an invalid placeholder name is a syntax error pointing at it', () => {
    const error = rejection('SELECT * FROM sales WHERE sale_id = :1abc');
    expect(error.code).toBe('INVALID_SQL');
    expect(error.details).toMatchObject({ position: 37, line: 1, column: 37 });
    expect(String(error.details.hint)).toContain(':name');
  });

  it('error positions refer to the text the tenant sent, not the rewritten one', () => {
    // ":a_very_long_placeholder_name" became "$1": the error after it must still point at "FORM"
    const sql = 'SELECT * FROM sales WHERE region = :a_very_long_placeholder_name FORM x';
    const error = rejection(sql);
    expect(error.code).toBe('INVALID_SQL');
    expect(error.details.position).toBe(sql.indexOf('FORM') + 1);
    expect(error.details.near).toBe('FORM x');
  });

  it('positions count characters, not UTF-8 bytes, and give line and column', () => {
    const sql = "SELECT 'héllo wörld', :x\nFROM sales WHERE pg_sleep(1) IS NULL";
    const error = rejection(sql);
    expect(error.code).toBe('SQL_BLOCKED');
    expect(error.details).toMatchObject({ position: sql.indexOf('pg_sleep') + 1, line: 2, column: 18 });
  });
});
