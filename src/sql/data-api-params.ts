/**
 * Guard SQL → Redshift Data API statement. The guard's SQL carries `$1..$n`; the Data API binds
 * `:name` parameters whose values are strings. The tokenizer finds the `$n` tokens (strings,
 * comments and quoted identifiers are never touched): each becomes `:p<n>`, or a literal for a
 * value a Data API parameter cannot carry: `NULL` for null, `''` for the empty string (AWS refuses
 * zero-length values: https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_SqlParameter.html).
 * Both literals are constants of this file, never built from the value, so nothing can be injected.
 * The statement text is refused above the Data API's 100 KB (`DATA_API_MAX_SQL_BYTES`).
 */
import { ApiError } from '../domain/errors.js';
import { type ScanToken, scanSql } from './parser.js';
import { byteOffsetMapper } from './source-map.js';

export interface DataApiParameter {
  name: string;
  value: string;
}

export interface DataApiStatement {
  sql: string;
  parameters: DataApiParameter[];
}

const WORD_CHARACTER = /[\w$\u0080-\uffff]/;

/**
 * The Data API's largest statement text ("The maximum query statement size is 100 KB",
 * https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html), counted as UTF-8 bytes.
 */
export const DATA_API_MAX_SQL_BYTES = 100_000;

/** The Data API parameter name for `$n`. */
export const dataApiParameterName = (n: number) => `p${n}`;

function parameterValue(value: unknown, n: number): string {
  if (typeof value === 'string') {
    // Redshift text cannot hold NUL; the PostgreSQL adapter refuses it too (22021).
    if (value.includes('\0')) {
      throw new ApiError('INVALID_REQUEST', 'a parameter value must not contain NUL characters', {
        field: 'params',
        parameter: n,
      });
    }
    return value;
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  throw new ApiError('INTERNAL_ERROR', `parameter $${n} has a value the Data API cannot bind`, {
    parameter: n,
    type: typeof value,
  });
}

/** Rewrites `$n` placeholders to `:pn` (or `NULL`) and returns the Data API `Parameters`. */
export function toDataApiStatement(sql: string, values: readonly unknown[]): DataApiStatement {
  if (!sql.includes('$')) {
    if (values.length > 0) throw countMismatch(0, values.length);
    return withinSizeLimit({ sql, parameters: [] });
  }
  const tokens: ScanToken[] = scanSql(sql);
  const toIndex = byteOffsetMapper(sql);
  const parameters: DataApiParameter[] = [];
  const bound = new Set<number>();
  const brackets: string[] = [];
  let out = '';
  let copied = 0;
  let highest = 0;
  for (const token of tokens) {
    if (token.text === '(' || token.text === '[') brackets.push(token.text);
    else if (token.text === ')' || token.text === ']') brackets.pop();
    if (token.tokenName !== 'PARAM') continue;
    const n = Number(token.text.slice(1));
    if (!Number.isSafeInteger(n) || n < 1 || n > values.length) throw countMismatch(n, values.length);
    highest = Math.max(highest, n);
    const start = toIndex(token.start);
    const end = toIndex(token.end);
    const value = values[n - 1];
    let replacement: string;
    if (value === null || value === undefined) replacement = 'NULL';
    else if (value === '') replacement = "''";
    else {
      replacement = `:${dataApiParameterName(n)}`;
      // Inside [ ] a reader may take `:name` for an array-slice bound: parenthesise it.
      if (brackets.at(-1) === '[') replacement = `(${replacement})`;
      if (!bound.has(n)) {
        bound.add(n);
        parameters.push({ name: dataApiParameterName(n), value: parameterValue(value, n) });
      }
    }
    // Never glue the replacement to a neighbouring word, colon or quote (`a:p1`, `::p1`, `NULLx`, `''''`).
    const before = sql.charAt(start - 1);
    const after = sql.charAt(end);
    if (WORD_CHARACTER.test(before) || before === ':' || before === "'") replacement = ` ${replacement}`;
    if (WORD_CHARACTER.test(after) || after === ':' || after === "'") replacement = `${replacement} `;
    out += sql.slice(copied, start) + replacement;
    copied = end;
  }
  if (highest !== values.length) throw countMismatch(highest, values.length);
  return withinSizeLimit({ sql: copied === 0 ? sql : out + sql.slice(copied), parameters });
}

function withinSizeLimit(statement: DataApiStatement): DataApiStatement {
  const bytes = Buffer.byteLength(statement.sql, 'utf8');
  if (bytes > DATA_API_MAX_SQL_BYTES) {
    throw new ApiError(
      'PAYLOAD_TOO_LARGE',
      `the statement is ${bytes} bytes once rewritten; the Redshift Data API takes at most ${DATA_API_MAX_SQL_BYTES}`,
      { field: 'sql', max_bytes: DATA_API_MAX_SQL_BYTES, bytes },
    );
  }
  return statement;
}

const countMismatch = (placeholder: number, values: number) =>
  new ApiError('INTERNAL_ERROR', 'statement placeholders and parameter values do not match', {
    placeholder,
    values,
  });
