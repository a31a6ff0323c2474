/**
 * What the Data API stand-in refuses because Amazon Redshift does: the PostgreSQL features, functions
 * and data types AWS documents as unsupported (Database Developer Guide: "Unsupported PostgreSQL
 * features", "Unsupported PostgreSQL functions", "Unsupported PostgreSQL data types"). Written from
 * those pages, independently of the guard (src/sql/redshift-support.ts), so a guard that forgets a
 * construct is caught by the AWS suites instead of passing on PostgreSQL. Read on the scanner's
 * tokens, so strings, comments and quoted names never match.
 *
 * Redshift-only syntax the stand-in receives (QUALIFY, APPROXIMATE, LISTAGG … WITHIN GROUP, bare
 * date parts, SYSDATE, NVL) is translated to PostgreSQL before it runs; the fake records the text
 * it received, untranslated.
 */
import { scanSync } from 'libpg-query';
import { deparseSql } from '../../src/sql/parser.js';
import { parseRedshift } from '../../src/sql/redshift-syntax.js';
import { toPostgres } from '../../src/sql/render-postgres.js';
import { SourceMap } from '../../src/sql/source-map.js';

/** c_unsupported-postgresql-functions, the entries a SELECT can reach. */
const FUNCTIONS = new Set([
  // aggregate functions
  'string_agg',
  'array_agg',
  'every',
  'xml_agg',
  'xmlagg',
  'corr',
  'covar_pop',
  'covar_samp',
  'regr_avgx',
  'regr_avgy',
  'regr_count',
  'regr_intercept',
  'regr_r2',
  'regr_slope',
  'regr_sxx',
  'regr_sxy',
  'regr_syy',
  // date/time
  'clock_timestamp',
  'justify_days',
  'justify_hours',
  'justify_interval',
  'pg_sleep',
  'transaction_timestamp',
  // mathematical
  'div',
  'setseed',
  'width_bucket',
  // set returning
  'generate_series',
  'generate_subscripts',
  'unnest',
  // string
  'bit_length',
  'overlay',
  'convert_from',
  'convert_to',
  'encode',
  'format',
  'quote_nullable',
  'regexp_matches',
  'regexp_split_to_array',
  'regexp_split_to_table',
  'string_to_array',
  'get_bit',
  'get_byte',
  'set_bit',
  'set_byte',
  'to_ascii',
  // JSON (Redshift has SUPER and the JSON_* text functions instead)
  'to_json',
  'to_jsonb',
  'row_to_json',
  'json_agg',
  'jsonb_agg',
  'json_object_agg',
  'jsonb_object_agg',
  'json_build_object',
  'jsonb_build_object',
  'json_build_array',
  'jsonb_build_array',
  'json_each',
  'jsonb_each',
  'json_array_elements',
  'jsonb_array_elements',
  'jsonb_array_length',
  'jsonb_typeof',
  'jsonb_extract_path_text',
  'jsonb_path_query',
  'jsonb_path_exists',
  // text search, ranges
  'to_tsvector',
  'to_tsquery',
  'plainto_tsquery',
  'ts_rank',
  'int4range',
  'int8range',
  'numrange',
  'daterange',
  'tsrange',
  'tstzrange',
]);
/** Advisory locks stay: the guard never lets them through, and adapter tests use them as a gate. */
const FUNCTION_PREFIXES = ['array_', 'jsonb_', 'xml', 'ts_', 'txid_'];

/** c_unsupported-postgresql-datatypes. */
const TYPES = new Set([
  'json',
  'jsonb',
  'xml',
  'uuid',
  'money',
  'bytea',
  'bit',
  'varbit',
  'inet',
  'cidr',
  'macaddr',
  'serial',
  'bigserial',
  'smallserial',
  'int4range',
  'int8range',
  'numrange',
  'daterange',
  'tsrange',
  'tstzrange',
  'tsvector',
  'tsquery',
  'regclass',
  'oid',
  'txid_snapshot',
]);

/** JSON(B), array and range operators (Redshift has none of the types they work on). */
const OPERATORS = new Set(['->', '->>', '#>', '#>>', '#-', '@>', '<@', '?|', '?&', '@?', '@@', '&&']);

/** The Redshift error for the first unsupported construct in `sql`, or undefined when it has none. */
export function redshiftRefusal(sql: string): string | undefined {
  let tokens: { text: string; tokenName: string }[];
  try {
    tokens = scanSync(sql).tokens.filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT');
  } catch {
    return undefined; // the warehouse's own parser reports it
  }
  const bare = (i: number) => {
    const t = tokens[i];
    return t === undefined || t.tokenName === 'SCONST' || t.text.startsWith('"') ? '' : t.text.toLowerCase();
  };
  for (let i = 0; i < tokens.length; i++) {
    const word = bare(i);
    const next = tokens[i + 1]?.text;
    if (
      next === '(' &&
      bare(i - 1) !== '.' &&
      (FUNCTIONS.has(word) || FUNCTION_PREFIXES.some((p) => word.startsWith(p)))
    ) {
      return `function ${word}() is not supported on Amazon Redshift`;
    }
    if (word === 'array' && (next === '[' || next === '('))
      return 'array constructors are not supported on Amazon Redshift';
    if (word === 'filter' && next === '(' && bare(i + 2) === 'where') {
      return 'aggregate FILTER clauses are not supported on Amazon Redshift';
    }
    if (word === 'distinct' && bare(i + 1) === 'on' && tokens[i + 2]?.text === '(') {
      return 'SELECT DISTINCT ON is not supported on Amazon Redshift';
    }
    if (word === 'tablesample') return 'TABLESAMPLE is not supported on Amazon Redshift';
    const token = tokens[i]!;
    if (token.tokenName !== 'SCONST' && token.tokenName !== 'IDENT' && OPERATORS.has(token.text)) {
      return `operator ${token.text} is not supported on Amazon Redshift`;
    }
    if (token.tokenName === 'TYPECAST') {
      const type = bare(i + 1);
      if (TYPES.has(type)) return `type ${type} is not supported on Amazon Redshift`;
      if (tokens[i + 2]?.text === '[') return 'array types are not supported on Amazon Redshift';
    }
    const afterType = tokens[i + 2]?.text;
    if (word === 'as' && TYPES.has(bare(i + 1)) && (afterType === ')' || afterType === '[')) {
      return `type ${bare(i + 1)} is not supported on Amazon Redshift`;
    }
  }
  return undefined;
}

/**
 * The PostgreSQL the stand-in runs for a Redshift SELECT (placeholders as `$n`); other statements,
 * and anything the translation cannot read, unchanged (PostgreSQL then reports its own error).
 */
export function redshiftToPostgres(sql: string): string {
  try {
    const { tree } = parseRedshift(sql, new SourceMap(sql, sql));
    const stmts = tree.stmts ?? [];
    if (stmts.length !== 1 || !('SelectStmt' in (stmts[0]?.stmt ?? {}))) return sql;
    return deparseSql(toPostgres(tree));
  } catch {
    return sql;
  }
}
