/**
 * Guard SQL → Redshift Data API statement. The guard's SQL carries `$1..$n`; the Data API binds
 * `:name` parameters whose values are strings. The tokenizer finds the `$n` tokens (strings,
 * comments and quoted identifiers are never touched): each becomes `:p<n>`, or the literal `NULL`
 * when its value is null (a Data API parameter cannot carry NULL).
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

/** The Data API parameter name for `$n`. */
export const dataApiParameterName = (n: number) => `p${n}`;

function parameterValue(value: unknown, n: number): string {
  if (typeof value === 'string') return value;
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
    return { sql, parameters: [] };
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
    else {
      replacement = `:${dataApiParameterName(n)}`;
      // Inside [ ] a reader may take `:name` for an array-slice bound: parenthesise it.
      if (brackets.at(-1) === '[') replacement = `(${replacement})`;
      if (!bound.has(n)) {
        bound.add(n);
        parameters.push({ name: dataApiParameterName(n), value: parameterValue(value, n) });
      }
    }
    // Never glue the replacement to a neighbouring word or colon (`a:p1`, `::p1`, `NULLx`).
    const before = sql.charAt(start - 1);
    const after = sql.charAt(end);
    if (WORD_CHARACTER.test(before) || before === ':') replacement = ` ${replacement}`;
    if (WORD_CHARACTER.test(after) || after === ':') replacement = `${replacement} `;
    out += sql.slice(copied, start) + replacement;
    copied = end;
  }
  if (highest !== values.length) throw countMismatch(highest, values.length);
  return { sql: copied === 0 ? sql : out + sql.slice(copied), parameters };
}

const countMismatch = (placeholder: number, values: number) =>
  new ApiError('INTERNAL_ERROR', 'statement placeholders and parameter values do not match', {
    placeholder,
    values,
  });
