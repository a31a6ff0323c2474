/**
 * Named placeholders. Tenants write `:name`; PostgreSQL's grammar only knows `$n`. The tokenizer
 * finds the placeholders (so strings, comments, dollar-quoted bodies and `::` casts are never
 * touched) and each is replaced by `$n`, the same name always getting the same number.
 */
import { ApiError } from '../domain/errors.js';
import { type ScanToken, scanSql } from './parser.js';
import { byteOffsetMapper, type Replacement, SourceMap } from './source-map.js';

export const PLACEHOLDER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Text that cannot contain `:name` or `$n` outside literals skips the (costly) tokenizer. */
const MAY_HOLD_PARAMETERS = /(^|[^:]):[A-Za-z_]|\$\d/;
const WORD_CHARACTER = /[\w$\u0080-\uffff]/;

export interface PlaceholderScan {
  /** The SQL with `:name` replaced by `$n`. */
  text: string;
  /** paramNames[i] is the name bound to $(i+1). */
  paramNames: string[];
  sourceMap: SourceMap;
}

export function replacePlaceholders(sql: string): PlaceholderScan {
  if (!MAY_HOLD_PARAMETERS.test(sql))
    return { text: sql, paramNames: [], sourceMap: new SourceMap(sql, sql) };

  const tokens = scanSql(sql);
  const toIndex = byteOffsetMapper(sql);
  const paramNames: string[] = [];
  const replacements: Replacement[] = [];
  const brackets: string[] = [];
  let text = '';
  let copiedUpTo = 0;

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as ScanToken;
    if (token.text === '(' || token.text === '[') brackets.push(token.text);
    else if (token.text === ')' || token.text === ']') brackets.pop();

    if (token.tokenName === 'PARAM') {
      const position = new SourceMap(sql, sql).fromLocation(token.start);
      throw new ApiError(
        'INVALID_SQL',
        `positional parameter ${token.text} is not accepted; use a named placeholder`,
        {
          construct: token.text,
          reason: 'positional parameters are not accepted',
          hint: 'write :name and pass {"name": value} in params',
          ...position,
        },
      );
    }

    const next = tokens[i + 1];
    // Inside [ ] a colon after a bound is an array-slice separator (`a[1:n]`); right after `[` it is a
    // placeholder (`c.orders[:i]`): Redshift's SUPER has no slices, so `[:n]` cannot mean one.
    const afterBracket = tokens[i - 1]?.text === '[';
    if (
      token.text !== ':' ||
      next === undefined ||
      next.start !== token.end ||
      (brackets.at(-1) === '[' && !afterBracket)
    )
      continue;
    if (!PLACEHOLDER_NAME.test(next.text) || next.tokenName === 'SCONST') continue;
    const originalStart = toIndex(token.start);
    // `a:b` is not a placeholder: `$1` glued to a word would read as part of it (`a$1` is an identifier).
    if (WORD_CHARACTER.test(sql.charAt(originalStart - 1))) continue;

    const name = next.text;
    let number = paramNames.indexOf(name) + 1;
    if (number === 0) number = paramNames.push(name);
    const originalEnd = toIndex(next.end);
    text += sql.slice(copiedUpTo, originalStart);
    const start = text.length;
    text += `$${number}`;
    replacements.push({ originalStart, originalEnd, start, end: text.length });
    copiedUpTo = originalEnd;
    i++;
  }
  if (replacements.length === 0) return { text: sql, paramNames, sourceMap: new SourceMap(sql, sql) };
  text += sql.slice(copiedUpTo);
  return { text, paramNames, sourceMap: new SourceMap(sql, text, replacements) };
}
