import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiError, isApiError } from '../../../src/domain/errors.js';
import { defaultGuardPolicy, initSqlGuard, planQueryUncached } from '../../../src/sql/index.js';

const policy = defaultGuardPolicy();
const rejection = (sql: string): ApiError => {
  try {
    planQueryUncached({ sql, rowCap: 100 }, policy);
  } catch (error) {
    if (isApiError(error)) return error;
    throw error;
  }
  throw new Error(`accepted: ${sql}`);
};

beforeAll(() => initSqlGuard());

describe('parse errors', () => {
  it('are INVALID_SQL with the parser message, a 1-based position, line, column and a hint', () => {
    const error = rejection('SELECT region,\n  FROM sales');
    expect(error.code).toBe('INVALID_SQL');
    expect(error.message).toBe('syntax error at or near "FROM"');
    expect(error.details).toMatchObject({
      construct: 'FROM',
      position: 18,
      line: 2,
      column: 3,
      near: 'FROM sales',
    });
    expect(typeof error.details.hint).toBe('string');
  });

  it('a misspelt keyword is a syntax error, not a blocked statement', () => {
    expect(rejection('SELEC region FROM sales').details).toMatchObject({ construct: 'SELEC', position: 1 });
    expect(rejection('SELEC region FROM sales').code).toBe('INVALID_SQL');
  });

  it('explain an early end, an open string and an open comment', () => {
    expect(String(rejection('SELECT (1').details.hint)).toMatch(/unclosed parenthesis/);
    expect(rejection("SELECT 'abc").details.hint).toMatch(/string literal is not closed/);
    expect(rejection('SELECT 1 /* x').details.hint).toMatch(/comment/);
  });

  it('an empty statement or one of only comments is INVALID_SQL', () => {
    for (const sql of ['', '   ', '-- nothing', '/* nothing */ ;']) {
      expect(rejection(sql).details.construct).toBe('empty statement');
    }
  });

  it('a NUL character is rejected before the parser could stop reading at it', () => {
    const error = rejection('SELECT 1\u0000; DROP TABLE sales');
    expect(error.code).toBe('INVALID_SQL');
    expect(error.details).toMatchObject({ construct: 'NUL character', position: 9 });
  });

  it('nesting deeper than the parser allows is COMPLEXITY_EXCEEDED, not a crash', () => {
    expect(rejection(`SELECT ${'('.repeat(20_000)}1${')'.repeat(20_000)}`).code).toBe('COMPLEXITY_EXCEEDED');
    expect(rejection(`SELECT ${'abs('.repeat(3_000)}1${')'.repeat(3_000)}`).code).toBe('COMPLEXITY_EXCEEDED');
  });
});

describe('Redshift syntax', () => {
  it('a PIVOT that is not PIVOT (aggregate FOR column IN (…)) is INVALID_SQL, not "not supported"', () => {
    const error = rejection('SELECT * FROM (SELECT region, amount FROM sales) PIVOT (SUM(amount))');
    expect(error.code).toBe('INVALID_SQL');
  });

  it('a column that happens to be called top or qualify is just a column', () => {
    expect(() => planQueryUncached({ sql: 'SELECT top, qualify FROM t' }, policy)).not.toThrow();
  });

  it('a construct the deparser cannot write back is UNSUPPORTED_SYNTAX, never run as something else', () => {
    // the deparser has no JSON_VALUE; AT LOCAL comes back as an explicit call (caught by the round trip)
    expect(rejection("SELECT JSON_VALUE(j, '$.a') FROM t").details.construct).toBe('JsonFuncExpr');
    const local = rejection('SELECT now() AT LOCAL');
    expect(local.code).toBe('UNSUPPORTED_SYNTAX');
    expect(String(local.details.path)).toContain('FuncCall');
  });
});

describe('blocked statements', () => {
  it.each([
    ['UNLOAD', "UNLOAD ('SELECT 1') TO 's3://b/p' IAM_ROLE 'arn'", /Bulk API/],
    ['COPY', "COPY sales FROM 's3://b/p' IAM_ROLE 'arn'", /Bulk API/],
    ['COPY … PROGRAM', "COPY sales TO PROGRAM 'id'", /Bulk API/],
    ['VACUUM', 'VACUUM sales', /one SELECT/],
    ['ANALYZE', 'ANALYZE sales', /one SELECT/],
    ['SET role', 'SET ROLE admin', /one SELECT/],
    ['RESET role', 'RESET ROLE', /one SELECT/],
    ['SET session_authorization', 'SET SESSION AUTHORIZATION admin', /one SELECT/],
    ['GRANT', 'GRANT ALL ON sales TO PUBLIC', /one SELECT/],
    ['INSERT', 'INSERT INTO sales VALUES (1)', /Bulk API/],
  ])('%s is SQL_BLOCKED, naming the statement', (construct, sql, reason) => {
    const error = rejection(sql);
    expect(error.code).toBe('SQL_BLOCKED');
    expect(error.details.construct).toBe(construct);
    expect(String(error.details.reason)).toMatch(reason);
    expect(error.details.position).toBe(1);
  });

  it('a second statement is blocked even when the first is a harmless SELECT, pointing at the second', () => {
    const error = rejection('SELECT 1;\nDROP TABLE sales');
    expect(error.details).toMatchObject({
      construct: 'multiple statements',
      statements: 2,
      line: 2,
      column: 1,
    });
  });

  it('every rejection carries JSON-serialisable details naming the construct and a reason', () => {
    for (const sql of [
      'SELECT pg_sleep(1)',
      'SELECT * FROM pg_shadow',
      'SELECT * INTO t FROM sales',
      'SELECT 1 +',
      'SELECT TOP 1',
    ]) {
      const { details } = rejection(sql);
      expect(JSON.parse(JSON.stringify(details))).toEqual(details);
      expect(details.construct).toEqual(expect.any(String));
      expect(details.reason ?? details.rewrite).toEqual(expect.any(String));
    }
  });
});
