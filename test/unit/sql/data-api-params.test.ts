import { beforeAll, describe, expect, it } from 'vitest';
import { isApiError } from '../../../src/domain/errors.js';
import { toDataApiStatement } from '../../../src/sql/data-api-params.js';
import { bindParams, defaultGuardPolicy, initSqlGuard, planQueryUncached } from '../../../src/sql/index.js';
import { replacePlaceholders } from '../../../src/sql/placeholders.js';

const policy = defaultGuardPolicy();

/** Tenant SQL + named values → what the Data API adapter sends. */
function dataApi(sql: string, params: Record<string, string | number | boolean | null> = {}) {
  const plan = planQueryUncached({ sql }, policy);
  return toDataApiStatement(plan.sql, bindParams(plan, params));
}

beforeAll(() => initSqlGuard());

describe('Data API parameters from guard SQL', () => {
  it('turn $n into :pn, one parameter per number, values as strings', () => {
    const s = dataApi('SELECT :region, amount > :min, :region AS again, :flag FROM sales', {
      region: 'EU',
      min: 10.5,
      flag: true,
    });
    expect(s.sql).toBe('SELECT :p1, amount > :p2, :p1 AS again, :p3 FROM sales');
    expect(s.parameters).toEqual([
      { name: 'p1', value: 'EU' },
      { name: 'p2', value: '10.5' },
      { name: 'p3', value: 'true' },
    ]);
  });

  it('inline NULL for a null value, since a Data API parameter cannot be null', () => {
    const s = dataApi('SELECT * FROM sales WHERE region = :r OR :r IS NULL', { r: null });
    expect(s.sql).toBe('SELECT * FROM sales WHERE region = NULL OR NULL IS NULL');
    expect(s.parameters).toEqual([]);
  });

  it("inline '' for an empty string, since AWS refuses a zero-length parameter value", () => {
    const s = dataApi('SELECT :e AS e, :v AS v, :e = :v AS same', { e: '', v: 'x' });
    expect(s.sql).toBe("SELECT '' AS e, :p2 AS v, '' = :p2 AS same");
    expect(s.parameters).toEqual([{ name: 'p2', value: 'x' }]);
  });

  it('never glue a literal to a neighbouring quote, word or colon', () => {
    expect(toDataApiStatement("SELECT 'a'||$1||'b', x::text||$2", ['', null]).sql).toBe(
      "SELECT 'a'||''||'b', x::text||NULL",
    );
    expect(toDataApiStatement('SELECT $1::text', ['']).sql).toBe("SELECT '' ::text");
  });

  it('refuse a NUL character and a statement over the Data API size limit', () => {
    expect(() => toDataApiStatement('SELECT $1', ['a\0'])).toThrow(/NUL/);
    expect(() => toDataApiStatement(`SELECT '${'x'.repeat(100_000)}'`, [])).toThrow(/at most 100000/);
  });

  it('never touch $n inside strings, dollar quotes, quoted identifiers or comments', () => {
    const sql = `SELECT '$1', $$ $2 $$, "$3", $1 /* $1 */ FROM t -- $2`;
    const s = toDataApiStatement(sql, ['x']);
    expect(s.sql).toBe(`SELECT '$1', $$ $2 $$, "$3", :p1 /* $1 */ FROM t -- $2`);
  });

  it('parenthesise a parameter used as an array subscript so it cannot read as a slice bound', () => {
    const s = toDataApiStatement('SELECT a[$1], a[1:$2] FROM t', [1, 2]);
    expect(s.sql).toBe('SELECT a[(:p1)], a[1: (:p2)] FROM t');
  });

  it('keep positions right after non-ASCII text', () => {
    const s = toDataApiStatement("SELECT 'café ☕', $1 FROM t", ['v']);
    expect(s.sql).toBe("SELECT 'café ☕', :p1 FROM t");
  });

  it('round-trip: reading :pn back as placeholders gives the guard SQL', () => {
    const plan = planQueryUncached({ sql: "SELECT ':x', :a, :b, :a FROM sales WHERE note <> ':b'" }, policy);
    const s = toDataApiStatement(plan.sql, ['1', '2']);
    const back = replacePlaceholders(s.sql);
    expect(back.text).toBe(plan.sql);
    expect(back.paramNames).toEqual(['p1', 'p2']);
  });

  it('refuse values that do not match the placeholders', () => {
    for (const [sql, values] of [
      ['SELECT $1, $2', ['a']],
      ['SELECT $1', ['a', 'b']],
      ['SELECT 1', ['a']],
      ['SELECT $1', [{ nested: true }]],
    ] as const) {
      let error: unknown;
      try {
        toDataApiStatement(sql, values as readonly unknown[]);
      } catch (e) {
        error = e;
      }
      expect(isApiError(error) && error.code).toBe('INTERNAL_ERROR');
    }
  });
});
