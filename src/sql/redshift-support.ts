/**
 * PostgreSQL-only constructs: what Amazon Redshift documents as unsupported ("Unsupported PostgreSQL
 * features", "… functions", "… data types" in the Redshift Database Developer Guide), found in the
 * canonical tree. On a Redshift warehouse each is UNSUPPORTED_ON_REDSHIFT before any round trip;
 * on PostgreSQL it runs, with a warning, so local development shows it early.
 */
import type { StatementAnalysis } from './analyze.js';

type AnyNode = Record<string, unknown>;

export interface PostgresOnlyConstruct {
  /** What was written, e.g. `generate_series()` or `aggregate FILTER (WHERE …)`. */
  construct: string;
  /** What to write instead on Redshift. */
  alternative: string;
  location?: number;
}

const ARRAYS = 'SUPER values (JSON_PARSE, SPLIT_TO_ARRAY) or a join to a table of values';
const JSON_ALTERNATIVE =
  'JSON_EXTRACT_PATH_TEXT / JSON_EXTRACT_ARRAY_ELEMENT_TEXT, or a SUPER column with PartiQL navigation';
const SERIES = 'a numbers table, or a recursive WITH query that counts';

/** Unsupported PostgreSQL functions (c_unsupported-postgresql-functions) that our allowlists admit. */
const FUNCTIONS: Readonly<Record<string, string>> = {
  string_agg: 'LISTAGG(expr, delimiter) WITHIN GROUP (ORDER BY …)',
  array_agg: 'LISTAGG(expr, delimiter) WITHIN GROUP (ORDER BY …)',
  every: 'BOOL_AND(expr)',
  corr: 'the formula over SUM/AVG/STDDEV',
  covar_pop: 'the formula over SUM/AVG',
  covar_samp: 'the formula over SUM/AVG',
  regr_avgx: 'AVG over the non-NULL pairs',
  regr_avgy: 'AVG over the non-NULL pairs',
  regr_count: 'COUNT over the non-NULL pairs',
  regr_intercept: 'the least-squares formula over SUM/AVG',
  regr_r2: 'the least-squares formula over SUM/AVG',
  regr_slope: 'the least-squares formula over SUM/AVG',
  clock_timestamp: 'GETDATE() or SYSDATE',
  transaction_timestamp: 'SYSDATE',
  justify_days: 'DATEADD / DATEDIFF',
  justify_hours: 'DATEADD / DATEDIFF',
  justify_interval: 'DATEADD / DATEDIFF',
  div: 'TRUNC(a / b) or the / operator on integers',
  width_bucket: 'a CASE expression over the bucket bounds',
  generate_series: SERIES,
  generate_subscripts: SERIES,
  unnest: ARRAYS,
  bit_length: 'OCTET_LENGTH(x) * 8',
  overlay: 'SUBSTRING and || concatenation',
  convert_from: 'CAST / CONVERT(type, expr)',
  convert_to: 'CAST / CONVERT(type, expr)',
  encode: 'TO_HEX or the VARBYTE functions',
  format: '|| concatenation and TO_CHAR',
  regexp_matches: 'REGEXP_SUBSTR(source, pattern, position, occurrence)',
  regexp_match: 'REGEXP_SUBSTR(source, pattern)',
  regexp_split_to_array: 'SPLIT_PART(string, delimiter, n)',
  regexp_split_to_table: 'SPLIT_PART(string, delimiter, n) over a numbers table',
  string_to_array: 'SPLIT_TO_ARRAY(string, delimiter) (SUPER)',
  string_to_table: 'SPLIT_PART(string, delimiter, n) over a numbers table',
  to_json: 'JSON_SERIALIZE / JSON_PARSE (SUPER)',
  to_jsonb: 'JSON_SERIALIZE / JSON_PARSE (SUPER)',
  row_to_json: 'OBJECT(…) (SUPER)',
  json_agg: 'LISTAGG building the JSON text',
  jsonb_agg: 'LISTAGG building the JSON text',
  json_object_agg: 'LISTAGG building the JSON text',
  jsonb_object_agg: 'LISTAGG building the JSON text',
  json_build_object: 'OBJECT(key, value, …) (SUPER)',
  jsonb_build_object: 'OBJECT(key, value, …) (SUPER)',
  json_build_array: 'ARRAY(value, …) (SUPER)',
  jsonb_build_array: 'ARRAY(value, …) (SUPER)',
  to_tsvector: 'LIKE / ILIKE / REGEXP (Redshift has no full-text search)',
  to_tsquery: 'LIKE / ILIKE / REGEXP (Redshift has no full-text search)',
  plainto_tsquery: 'LIKE / ILIKE / REGEXP (Redshift has no full-text search)',
  age: 'DATEDIFF(part, start, end)',
  make_date: "TO_DATE(year || '-' || month || '-' || day, 'YYYY-MM-DD')",
  date_bin: 'DATE_TRUNC',
  gen_random_uuid: 'MD5(RANDOM()::text) for a random identifier',
};
/** Families by prefix: array_*, jsonb_*, json_* table functions, ranges, text search, XML. */
const FUNCTION_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['array_', ARRAYS],
  ['jsonb_', JSON_ALTERNATIVE],
  ['json_each', JSON_ALTERNATIVE],
  ['json_array_elements', JSON_ALTERNATIVE],
  ['json_object_keys', JSON_ALTERNATIVE],
  ['json_populate', JSON_ALTERNATIVE],
  ['json_to_record', JSON_ALTERNATIVE],
  ['ts_', 'LIKE / ILIKE / REGEXP (Redshift has no full-text search)'],
  ['xml', 'Redshift has no XML functions'],
  ['int4range', 'two columns holding the bounds'],
  ['int8range', 'two columns holding the bounds'],
  ['numrange', 'two columns holding the bounds'],
  ['daterange', 'two columns holding the bounds'],
  ['tsrange', 'two columns holding the bounds'],
  ['tstzrange', 'two columns holding the bounds'],
];

/** Unsupported PostgreSQL data types (c_unsupported-postgresql-datatypes). */
const TYPES: Readonly<Record<string, string>> = {
  json: 'SUPER (JSON_PARSE) or VARCHAR',
  jsonb: 'SUPER (JSON_PARSE) or VARCHAR',
  xml: 'VARCHAR',
  uuid: 'CHAR(36) or VARCHAR',
  money: 'DECIMAL(p, s)',
  bytea: 'VARBYTE',
  bit: 'BOOLEAN or an integer',
  varbit: 'BOOLEAN or an integer',
  inet: 'VARCHAR',
  cidr: 'VARCHAR',
  macaddr: 'VARCHAR',
  serial: 'INTEGER (IDENTITY columns in DDL)',
  bigserial: 'BIGINT (IDENTITY columns in DDL)',
  int4range: 'two columns holding the bounds',
  int8range: 'two columns holding the bounds',
  numrange: 'two columns holding the bounds',
  daterange: 'two columns holding the bounds',
  tsrange: 'two columns holding the bounds',
  tstzrange: 'two columns holding the bounds',
  tsvector: 'VARCHAR with LIKE / REGEXP',
  tsquery: 'VARCHAR with LIKE / REGEXP',
  regclass: 'a table name as VARCHAR',
  oid: 'INTEGER',
};

/** JSON(B) and array operators; Redshift has neither type. */
const OPERATORS: Readonly<Record<string, string>> = {
  '->': JSON_ALTERNATIVE,
  '->>': JSON_ALTERNATIVE,
  '#>': JSON_ALTERNATIVE,
  '#>>': JSON_ALTERNATIVE,
  '#-': JSON_ALTERNATIVE,
  '@>': JSON_ALTERNATIVE,
  '<@': JSON_ALTERNATIVE,
  '?': JSON_ALTERNATIVE,
  '?|': JSON_ALTERNATIVE,
  '?&': JSON_ALTERNATIVE,
  '@?': JSON_ALTERNATIVE,
  '@@': 'LIKE / ILIKE / REGEXP (Redshift has no full-text search)',
  '&&': 'two columns holding the bounds',
};

const locationOf = (node: AnyNode): number | undefined =>
  typeof node.location === 'number' && node.location >= 0 ? node.location : undefined;

/** The first source location inside `node` (DISTINCT ON has none of its own). */
function firstLocation(node: unknown): number | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const l = firstLocation(item);
      if (l !== undefined) return l;
    }
    return undefined;
  }
  if (node === null || typeof node !== 'object') return undefined;
  const own = locationOf(node as AnyNode);
  return own ?? firstLocation(Object.values(node as AnyNode));
}

/** Every PostgreSQL-only construct in a canonical statement tree, in the order met. */
export function postgresOnlyConstructs(stmt: unknown, analysis: StatementAnalysis): PostgresOnlyConstruct[] {
  const found: PostgresOnlyConstruct[] = [];
  for (const fn of analysis.functions) {
    const base = fn.parts[fn.parts.length - 1] ?? '';
    const alternative = FUNCTIONS[base] ?? FUNCTION_PREFIXES.find(([prefix]) => base.startsWith(prefix))?.[1];
    if (alternative !== undefined)
      found.push({ construct: `${fn.name}()`, alternative, location: fn.location });
  }
  for (const type of analysis.typeNames) {
    const alternative = TYPES[type.name];
    if (alternative !== undefined)
      found.push({ construct: `type ${type.name}`, alternative, location: type.location });
  }
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const obj = value as AnyNode;
    for (const key in obj) {
      const child = obj[key];
      const node = child as AnyNode;
      switch (key) {
        case 'A_ArrayExpr':
          found.push({
            construct: 'array constructor ARRAY[…]',
            alternative: ARRAYS,
            location: locationOf(node),
          });
          break;
        case 'SubLink':
          if (node.subLinkType === 'ARRAY_SUBLINK') {
            found.push({
              construct: 'ARRAY(subquery)',
              alternative: 'LISTAGG over the subquery',
              location: locationOf(node),
            });
          }
          break;
        case 'FuncCall':
          if (node.agg_filter !== undefined) {
            found.push({
              construct: 'aggregate FILTER (WHERE …)',
              alternative: 'a CASE inside the aggregate: SUM(CASE WHEN condition THEN x END)',
              location: locationOf(node),
            });
          }
          break;
        case 'RangeFunction':
          found.push({
            construct: 'function in FROM (table function)',
            alternative: SERIES,
            location: locationOf(node),
          });
          break;
        case 'A_Expr': {
          const op = ((node.name as AnyNode[] | undefined) ?? [])
            .map((n) => (n.String as AnyNode | undefined)?.sval)
            .at(-1);
          if (node.kind === 'AEXPR_DISTINCT' || node.kind === 'AEXPR_NOT_DISTINCT') {
            found.push({
              construct: 'IS [NOT] DISTINCT FROM',
              alternative: '(a = b OR (a IS NULL AND b IS NULL))',
              location: locationOf(node),
            });
          } else if (typeof op === 'string' && Object.hasOwn(OPERATORS, op)) {
            found.push({
              construct: `operator ${op}`,
              alternative: OPERATORS[op] as string,
              location: locationOf(node),
            });
          }
          break;
        }
        case 'SelectStmt':
        case 'larg':
        case 'rarg': {
          const distinct = node.distinctClause as AnyNode[] | undefined;
          if (distinct?.some((d) => Object.keys(d).length > 0)) {
            found.push({
              construct: 'DISTINCT ON (…)',
              alternative: 'ROW_NUMBER() OVER (PARTITION BY … ORDER BY …) with QUALIFY … = 1',
              location: firstLocation(distinct),
            });
          }
          break;
        }
        case 'TypeName':
        case 'typeName':
          if (Array.isArray(node.arrayBounds) && node.arrayBounds.length > 0) {
            found.push({ construct: 'array type', alternative: ARRAYS, location: locationOf(node) });
          }
          break;
        case 'RowExpr':
          if (node.row_format === 'COERCE_EXPLICIT_CALL') {
            found.push({
              construct: 'row constructor ROW(…)',
              alternative: 'separate columns',
              location: locationOf(node),
            });
          }
          break;
        case 'RangeTableSample':
          found.push({
            construct: 'TABLESAMPLE',
            alternative: 'WHERE RANDOM() < fraction',
            location: locationOf(node),
          });
          break;
        default:
          break;
      }
      visit(child);
    }
  };
  visit(stmt);
  return found;
}
