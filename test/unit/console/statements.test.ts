/** The console editor's pure text helpers: which statement Ctrl-Enter runs, its :params, error positions. */
import { describe, expect, it } from 'vitest';
import {
  indexOfCodePoint,
  parameterNames,
  parameterValue,
  statementAt,
} from '../../../console/src/editor/statements.js';

describe('statementAt', () => {
  const text = "SELECT 1;\n\nSELECT ';' AS s -- a ; in a comment\nFROM t;\nSELECT 3";
  it('runs the statement under the cursor, ignoring semicolons in strings and comments', () => {
    expect(statementAt(text, 3)).toEqual({ sql: 'SELECT 1', from: 0 });
    const second = statementAt(text, text.indexOf('AS s'));
    expect(second.sql).toBe("SELECT ';' AS s -- a ; in a comment\nFROM t");
    expect(text.slice(second.from, second.from + 6)).toBe('SELECT');
    expect(statementAt(text, text.length).sql).toBe('SELECT 3');
  });
});

describe('parameters', () => {
  it('finds :name placeholders but not ::casts, strings or comments', () => {
    expect(
      parameterNames("SELECT x::int, ':nope' FROM t WHERE a = :since AND b IN (:region, :since) -- :c"),
    ).toEqual(['since', 'region']);
  });
  it('binds numbers, booleans and null as such and everything else as text', () => {
    expect([
      parameterValue('42'),
      parameterValue('true'),
      parameterValue('null'),
      parameterValue('2024-01-01'),
    ]).toEqual([42, true, null, '2024-01-01']);
    expect(parameterValue('12345678901234567890')).toBe('12345678901234567890');
  });
});

describe('indexOfCodePoint', () => {
  it("maps the guard's 1-based code-point position to a UTF-16 index", () => {
    const sql = "SELECT '😀' = = 1";
    expect(sql.slice(indexOfCodePoint(sql, 14))).toBe('= 1');
  });
});
