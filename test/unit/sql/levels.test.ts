import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiError, isApiError } from '../../../src/domain/errors.js';
import {
  defaultGuardPolicy,
  type GuardPolicy,
  initSqlGuard,
  planQueryUncached,
} from '../../../src/sql/index.js';

const strict = defaultGuardPolicy({ level: 'strict' });
const standard = defaultGuardPolicy();
const permissive = defaultGuardPolicy({ level: 'permissive' });

const accepts = (policy: GuardPolicy, sql: string) => {
  planQueryUncached({ sql, rowCap: 100 }, policy);
  return true;
};
const rejection = (policy: GuardPolicy, sql: string): ApiError | undefined => {
  try {
    planQueryUncached({ sql, rowCap: 100 }, policy);
  } catch (error) {
    if (isApiError(error)) return error;
    throw error;
  }
  return undefined;
};

beforeAll(() => initSqlGuard());

describe('security levels', () => {
  it.each([
    ['subquery', 'SELECT * FROM sales WHERE amount > (SELECT avg(amount) FROM sales)'],
    ['FROM subquery', 'SELECT * FROM (SELECT * FROM sales) s'],
    ['WITH', 'WITH x AS (SELECT 1) SELECT * FROM x'],
    [
      'WITH RECURSIVE',
      'WITH RECURSIVE x(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM x WHERE n < 3) SELECT * FROM x',
    ],
    ['UNION', 'SELECT region FROM sales UNION SELECT region FROM customers'],
    ['window function', 'SELECT rank() OVER (ORDER BY amount) FROM sales'],
    ['function in FROM', 'SELECT * FROM generate_series(1, 3)'],
  ])('strict blocks %s; standard accepts it', (construct, sql) => {
    const error = rejection(strict, sql);
    expect(error?.code).toBe('SQL_BLOCKED');
    expect(String(error?.details.construct)).toContain(construct);
    expect(error?.details.level).toBe('strict');
    expect(accepts(standard, sql)).toBe(true);
  });

  it('strict has a small function allowlist; standard the common analytic one; permissive a wider one', () => {
    const basic =
      "SELECT region, count(*), sum(amount), date_trunc('month', sold_at), coalesce(region, 'x') FROM sales GROUP BY 1, 4";
    for (const policy of [strict, standard, permissive]) expect(accepts(policy, basic)).toBe(true);

    const analytic =
      "SELECT string_agg(name, ','), split_part(email, '@', 2), percentile_cont(0.5) WITHIN GROUP (ORDER BY customer_id) FROM customers GROUP BY 2";
    expect(rejection(strict, analytic)?.details).toMatchObject({
      construct: 'function',
      function: 'string_agg',
    });
    expect(accepts(standard, analytic)).toBe(true);

    const wide = "SELECT regexp_matches(name, '[a-z]+'), to_tsvector(name), gen_random_uuid() FROM customers";
    expect(rejection(standard, wide)?.details).toMatchObject({ function: 'regexp_matches' });
    expect(accepts(permissive, wide)).toBe(true);
  });

  it('EXTRACT, AT TIME ZONE, LIKE … ESCAPE, OVERLAPS, SUBSTRING … FROM, TRIM, POSITION work at every level', () => {
    const sql =
      "SELECT EXTRACT(YEAR FROM sold_at), sold_at AT TIME ZONE 'UTC', region LIKE 'E!%' ESCAPE '!', " +
      "(sold_at, sold_at) OVERLAPS (sold_at, sold_at), SUBSTRING(region FROM 1 FOR 2), TRIM(BOTH ' ' FROM region), " +
      "POSITION('a' IN region), region SIMILAR TO 'E%', COLLATION FOR (region) FROM sales";
    for (const policy of [strict, standard, permissive]) expect(accepts(policy, sql)).toBe(true);
  });

  it('the Redshift spellings GETDATE, DATEADD, NVL, DECODE, LISTAGG … WITHIN GROUP are accepted at standard', () => {
    expect(
      accepts(
        standard,
        "SELECT GETDATE(), DATEADD(day, 1, sold_at), NVL(region, '-'), DECODE(region, 'EMEA', 1, 0), LISTAGG(region, ',') WITHIN GROUP (ORDER BY region) FROM sales GROUP BY 1, 2, 3, 4",
      ),
    ).toBe(true);
  });

  it('complexity defaults rise with the level', () => {
    expect(strict).toMatchObject({ maxJoins: 5, maxDepth: 0 });
    expect(standard).toMatchObject({
      maxJoins: 10,
      maxDepth: 5,
      maxLength: 100_000,
      allowedSchemas: ['public'],
    });
    expect(permissive).toMatchObject({ maxJoins: 20, maxDepth: 10 });
    const joins12 = `SELECT * FROM ${Array.from({ length: 13 }, (_, i) => `sales s${i}`).join(', ')}`;
    expect(rejection(standard, joins12)?.code).toBe('COMPLEXITY_EXCEEDED');
    expect(accepts(permissive, joins12)).toBe(true);
  });

  it('the always-blocked list holds at permissive and cannot be re-opened by allowFunctions', () => {
    const open = defaultGuardPolicy({
      level: 'permissive',
      allowFunctions: ['pg_sleep', 'set_config', 'dblink', 'lo_import'],
    });
    for (const fn of [
      'pg_sleep(1)',
      "set_config('role', 'x', true)",
      "dblink('x', 'y')",
      "lo_import('/etc/passwd')",
    ]) {
      expect(rejection(open, `SELECT ${fn}`)?.details.reason).toMatch(/^always blocked/);
    }
  });
});

describe('configured extras', () => {
  it('allowFunctions admits a tenant UDF, schema-qualified only when written so', () => {
    const policy = defaultGuardPolicy({
      allowFunctions: ['fiscal_quarter', 'analytics.score'],
      allowedSchemas: ['public', 'analytics'],
    });
    expect(accepts(policy, 'SELECT fiscal_quarter(sold_at) FROM sales')).toBe(true);
    expect(accepts(policy, 'SELECT analytics.score(amount) FROM sales')).toBe(true);
    expect(rejection(policy, 'SELECT score(amount) FROM sales')?.details.function).toBe('score');
    expect(rejection(standard, 'SELECT fiscal_quarter(sold_at) FROM sales')?.details.reason).toMatch(
      /allowlist/,
    );
  });

  it('denyFunctions removes an allowlisted function', () => {
    const policy = defaultGuardPolicy({ denyFunctions: ['md5'] });
    expect(rejection(policy, 'SELECT md5(email) FROM customers')?.details).toMatchObject({
      function: 'md5',
      reason: 'denied by configuration',
    });
  });

  it('allowedSchemas decides which explicit schemas may be named', () => {
    expect(accepts(standard, 'SELECT * FROM public.sales')).toBe(true);
    expect(rejection(standard, 'SELECT * FROM analytics.sales')?.details).toMatchObject({
      relation: 'analytics.sales',
    });
    expect(
      accepts(defaultGuardPolicy({ allowedSchemas: ['analytics'] }), 'SELECT * FROM analytics.sales'),
    ).toBe(true);
    expect(
      rejection(defaultGuardPolicy({ allowedSchemas: ['pg_catalog'] }), 'SELECT * FROM pg_catalog.pg_class')
        ?.details.reason,
    ).toBe('system schema');
  });

  it('maxJoins counts explicit and comma joins in every subquery', () => {
    const policy = defaultGuardPolicy({ maxJoins: 2 });
    expect(accepts(policy, 'SELECT * FROM sales a JOIN sales b ON true, sales c')).toBe(true);
    const error = rejection(
      policy,
      'SELECT * FROM sales a JOIN sales b ON true WHERE EXISTS (SELECT 1 FROM sales c, sales d, sales e)',
    );
    expect(error?.code).toBe('COMPLEXITY_EXCEEDED');
    expect(error?.details).toMatchObject({ limit: 'max_joins', max: 2, actual: 3 });
  });

  it('maxDepth counts nested subqueries, WITH bodies included', () => {
    const policy = defaultGuardPolicy({ maxDepth: 2 });
    expect(accepts(policy, 'SELECT * FROM (SELECT * FROM (SELECT 1) a) b')).toBe(true);
    expect(
      rejection(policy, 'SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT 1) a) b) c')?.details,
    ).toMatchObject({
      limit: 'max_depth',
      max: 2,
      actual: 3,
    });
    expect(
      rejection(policy, 'WITH x AS (SELECT * FROM (SELECT (SELECT 1)) a) SELECT * FROM x')?.details.limit,
    ).toBe('max_depth');
  });

  it('maxLength is checked before anything is parsed', () => {
    const policy = defaultGuardPolicy({ maxLength: 20 });
    expect(rejection(policy, 'SELECT * FROM sales WHERE true')?.details).toMatchObject({
      limit: 'max_length',
      max: 20,
      actual: 30,
    });
    // not even valid SQL: the length decides first
    expect(rejection(standard, '('.repeat(100_001))?.code).toBe('COMPLEXITY_EXCEEDED');
  });

  it('rejects nonsense configuration', () => {
    expect(() => defaultGuardPolicy({ level: 'lenient' as never })).toThrow(/unknown SQL security level/);
    expect(() => defaultGuardPolicy({ maxJoins: -1 })).toThrow(/maxJoins/);
  });
});
