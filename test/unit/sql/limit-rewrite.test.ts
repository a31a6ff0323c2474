import { beforeAll, describe, expect, it } from 'vitest';
import { defaultGuardPolicy, initSqlGuard, planQueryUncached } from '../../../src/sql/index.js';

const policy = defaultGuardPolicy();
const capped = (sql: string, rowCap = 100) => planQueryUncached({ sql, rowCap }, policy);

beforeAll(() => initSqlGuard());

describe('row cap (Query API)', () => {
  it('adds LIMIT cap+1 when there is none, so truncation can be detected', () => {
    expect(capped('SELECT * FROM sales')).toMatchObject({
      sql: 'SELECT * FROM sales LIMIT 101',
      returnLimit: 100,
    });
  });

  it('keeps a constant LIMIT at or below the cap', () => {
    expect(capped('SELECT * FROM sales LIMIT 5')).toMatchObject({
      sql: 'SELECT * FROM sales LIMIT 5',
      returnLimit: 5,
    });
    expect(capped('SELECT * FROM sales LIMIT 100')).toMatchObject({ returnLimit: 100 });
  });

  it('lowers a LIMIT above the cap to cap+1', () => {
    expect(capped('SELECT * FROM sales LIMIT 101')).toMatchObject({
      sql: 'SELECT * FROM sales LIMIT 101',
      returnLimit: 100,
    });
    expect(capped('SELECT * FROM sales LIMIT 99999999999')).toMatchObject({ returnLimit: 100 });
    expect(capped('SELECT * FROM sales LIMIT 99999999999').sql).toBe('SELECT * FROM sales LIMIT 101');
  });

  it('treats LIMIT ALL and LIMIT NULL as no limit', () => {
    expect(capped('SELECT * FROM sales LIMIT ALL').sql).toBe('SELECT * FROM sales LIMIT 101');
    expect(capped('SELECT * FROM sales LIMIT NULL').sql).toBe('SELECT * FROM sales LIMIT 101');
  });

  it('keeps LIMIT 0 (stored as an empty integer node) at 0', () => {
    expect(capped('SELECT * FROM sales LIMIT 0')).toMatchObject({
      sql: 'SELECT * FROM sales LIMIT 0',
      returnLimit: 0,
    });
  });

  it('keeps OFFSET', () => {
    expect(capped('SELECT * FROM sales OFFSET 10').sql).toBe('SELECT * FROM sales LIMIT 101 OFFSET 10');
    expect(capped('SELECT * FROM sales LIMIT 7 OFFSET 10').sql).toBe('SELECT * FROM sales LIMIT 7 OFFSET 10');
  });

  it('treats FETCH FIRST n ROWS ONLY like LIMIT', () => {
    expect(capped('SELECT * FROM sales FETCH FIRST 5 ROWS ONLY')).toMatchObject({ returnLimit: 5 });
    expect(capped('SELECT * FROM sales FETCH FIRST 500 ROWS ONLY')).toMatchObject({
      sql: 'SELECT * FROM sales LIMIT 101',
      returnLimit: 100,
    });
  });

  it('puts the limit on the whole UNION … ORDER BY and on the main query of WITH', () => {
    expect(capped('SELECT 1 UNION SELECT 2 ORDER BY 1').sql).toBe(
      'SELECT 1 UNION SELECT 2 ORDER BY 1 LIMIT 101',
    );
    expect(capped('(SELECT 1 LIMIT 1) UNION ALL (SELECT 2 LIMIT 1)').sql).toBe(
      '(SELECT 1 LIMIT 1) UNION ALL (SELECT 2 LIMIT 1) LIMIT 101',
    );
    expect(capped('WITH x AS (SELECT * FROM sales LIMIT 500) SELECT * FROM x').sql).toBe(
      'WITH x AS (SELECT * FROM sales LIMIT 500) SELECT * FROM x LIMIT 101',
    );
  });

  it('wraps a statement whose LIMIT is not a constant', () => {
    for (const limit of ['LIMIT :n', 'LIMIT (SELECT count(*) FROM sales)', 'LIMIT 2.5', "LIMIT '5'::int"]) {
      const p = capped(`SELECT * FROM sales ${limit}`);
      expect(p.sql).toMatch(/^SELECT \* FROM \( SELECT \* FROM sales LIMIT .+ \) AS spectra_q LIMIT 101$/);
      expect(p.returnLimit).toBe(100);
      expect(p.relations).toEqual(['sales']);
    }
  });

  it('rejects a negative LIMIT and FETCH … WITH TIES (which the deparser cannot write back)', () => {
    expect(() => capped('SELECT * FROM sales LIMIT -1')).toThrow(
      expect.objectContaining({ code: 'INVALID_SQL' }),
    );
    expect(() => capped('SELECT * FROM sales ORDER BY amount FETCH FIRST 3 ROWS WITH TIES')).toThrow(
      expect.objectContaining({
        code: 'UNSUPPORTED_SYNTAX',
        details: expect.objectContaining({ rewrite: expect.any(String) }),
      }),
    );
  });

  it('leaves the statement alone for exports (no cap)', () => {
    const p = planQueryUncached({ sql: 'SELECT * FROM sales LIMIT 50000' }, policy);
    expect(p).toMatchObject({ sql: 'SELECT * FROM sales LIMIT 50000', returnLimit: null });
    expect(planQueryUncached({ sql: 'SELECT * FROM sales' }, policy).sql).toBe('SELECT * FROM sales');
  });

  it('a row cap of 0 still asks for one row, so truncation is reported', () => {
    expect(capped('SELECT * FROM sales', 0)).toMatchObject({
      sql: 'SELECT * FROM sales LIMIT 1',
      returnLimit: 0,
    });
  });
});
