/**
 * Turning a parser failure into the error a tenant can act on. In order: nesting beyond the
 * parser's reach (COMPLEXITY_EXCEEDED), statements that would be blocked even if they parsed
 * (`UNLOAD`, Redshift `COPY`, stacked statements: SQL_BLOCKED), and everything else (INVALID_SQL
 * with position and hint); Redshift syntax is read by the front end (redshift-syntax.ts).
 */
import { ApiError } from '../domain/errors.js';
import { type ParseFailure, type ScanToken, scanSql } from './parser.js';
import type { SourceMap } from './source-map.js';
import { blockedStatementHint, QUERY_LEADING_KEYWORDS } from './statement-kinds.js';

const COMMENT = new Set(['SQL_COMMENT', 'C_COMMENT']);

/** Redshift statements whose first word is not a PostgreSQL keyword. */
const REDSHIFT_STATEMENTS = new Set(['UNLOAD', 'CANCEL']);

function hintFor(message: string, near: string): string {
  if (/unterminated quoted string|unterminated dollar-quoted/.test(message)) {
    return 'a string literal is not closed: close it with a matching quote';
  }
  if (/unterminated \/\* comment/.test(message))
    return 'a /* comment */ is not closed (comments nest in PostgreSQL)';
  if (/unterminated quoted identifier/.test(message)) return 'a "quoted identifier" is not closed';
  if (/at end of input/.test(message)) {
    return 'the statement ends too early: look for an unclosed parenthesis or a missing expression';
  }
  if (near.startsWith(':')) {
    return 'placeholders are written :name (a letter or underscore, then letters, digits, underscores); inside [ ] write (:name)';
  }
  return 'check the SQL at the position shown; statements are validated with the PostgreSQL grammar';
}

export function explainParseFailure(failure: ParseFailure, text: string, sourceMap: SourceMap): ApiError {
  const errorAt = failure.cursor === undefined ? undefined : sourceMap.fromCursor(failure.cursor);
  if (failure.tooDeep) {
    return new ApiError('COMPLEXITY_EXCEEDED', 'statement is nested too deeply to be validated', {
      construct: 'nesting',
      limit: 'parser_depth',
      reason: failure.message,
    });
  }

  let tokens: ScanToken[] | undefined;
  try {
    tokens = scanSql(text).filter((t) => !COMMENT.has(t.tokenName));
  } catch {
    tokens = undefined;
  }
  if (tokens !== undefined) {
    const statements: ScanToken[][] = [[]];
    for (const token of tokens) {
      if (token.text === ';') statements.push([]);
      else statements[statements.length - 1]?.push(token);
    }
    const nonEmpty = statements.filter((s) => s.length > 0);
    for (const statement of nonEmpty) {
      const first = statement[0] as ScanToken;
      const keyword = first.text.toUpperCase();
      const isStatement = first.keywordKind > 0 || REDSHIFT_STATEMENTS.has(keyword);
      if (isStatement && !QUERY_LEADING_KEYWORDS.has(keyword)) {
        const second = statement[1]?.text.toUpperCase();
        const construct =
          /^(SET|RESET|CREATE|ALTER|DROP|SHOW)$/.test(keyword) && second ? `${keyword} ${second}` : keyword;
        return new ApiError('SQL_BLOCKED', `${construct} statements are not allowed`, {
          construct,
          reason: blockedStatementHint(keyword),
          ...sourceMap.fromLocation(first.start),
        });
      }
    }
    if (nonEmpty.length > 1) {
      const second = nonEmpty[1]?.[0];
      return new ApiError('SQL_BLOCKED', 'multiple statements are not allowed', {
        construct: 'multiple statements',
        reason: 'exactly one statement per request',
        statements: nonEmpty.length,
        ...sourceMap.fromLocation(second?.start),
      });
    }
  }

  const near = errorAt?.near ?? '';
  return new ApiError('INVALID_SQL', failure.message, {
    construct: near.split(/\s/)[0] || 'end of input',
    reason: failure.message,
    hint: hintFor(failure.message, near),
    ...errorAt,
  });
}
