/**
 * Function rules. The allowlist of the policy's level decides; the always-blocked rules below exist
 * so that no configuration (`allowFunctions`) can re-open them and so rejections say *why*.
 */
import type { GuardPolicy, SecurityLevel } from './policy.js';

/** Names from a text block: whitespace-separated, `//` comments to the end of a line. */
function words(...blocks: string[]): string[] {
  return blocks
    .join('\n')
    .replace(/\/\/.*$/gm, '')
    .split(/\s+/)
    .filter((w) => w !== '');
}

/**
 * Functions PostgreSQL's grammar itself emits as `pg_catalog.*` calls for SQL syntax (EXTRACT,
 * AT TIME ZONE, LIKE … ESCAPE, OVERLAPS, SUBSTRING … FROM, TRIM, POSITION … IN, COLLATION FOR, …).
 * Allowed at every level, also when written out explicitly: each is a pure value function.
 */
const SQL_SYNTAX_FUNCTIONS = new Set(
  words(`
  extract timezone like_escape similar_to_escape overlaps position substring overlay
  btrim ltrim rtrim normalize is_normalized pg_collation_for system_user xmlexists
`),
);

const STRICT = words(`
  count sum avg min max lower upper length char_length character_length substr concat replace
  round trunc abs ceil ceiling floor date_trunc date_part now to_char to_date to_timestamp
  to_number
  // Redshift spellings of the same things
  getdate nvl dateadd datediff len
`);

const STANDARD = words(
  STRICT.join(' '),
  `
  // aggregates
  string_agg array_agg listagg median percentile_cont percentile_disc mode stddev stddev_samp
  stddev_pop variance var_samp var_pop bool_and bool_or every bit_and bit_or corr covar_pop
  covar_samp regr_slope regr_intercept regr_r2 regr_count regr_avgx regr_avgy any_value grouping
  // window functions
  row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
  nth_value ratio_to_report
  // conditionals
  nvl2 decode
  // Redshift functions of the embedded warehouse's compatibility schema (docs/sql-dialect.md):
  // redshift_extract is what EXTRACT(part FROM x) with a Redshift date part becomes
  strtol dlog10 dlog1 dexp redshift_extract
  // strings
  concat_ws split_part left right lpad rpad strpos charindex initcap reverse repeat translate chr
  ascii octet_length bit_length starts_with regexp_replace regexp_substr regexp_count
  regexp_instr regexp_like md5 quote_ident quote_literal textlen btrim ltrim rtrim
  // numbers
  power pow sqrt cbrt exp ln log log10 mod sign pi degrees radians sin cos tan asin acos atan
  atan2 width_bucket div gcd lcm scale
  // dates and times
  age make_date make_time make_timestamp make_timestamptz make_interval date_add date_subtract
  date_bin justify_days justify_hours justify_interval isfinite clock_timestamp
  statement_timestamp transaction_timestamp timeofday sysdate add_months months_between last_day
  next_day convert_timezone date_cmp timestamp_cmp to_timestamp_tz timezone
  // arrays, JSON and set-returning helpers
  generate_series unnest array_length cardinality array_to_string array_position array_upper
  array_lower string_to_array json_extract_path_text json_extract_array_element_text
  json_array_length is_valid_json is_valid_json_array json_parse json_serialize to_json to_jsonb
  json_build_object jsonb_build_object json_build_array jsonb_build_array json_agg jsonb_agg
  json_object_agg jsonb_object_agg row_to_json json_typeof jsonb_typeof jsonb_extract_path_text
  json_extract_path jsonb_extract_path jsonb_array_length jsonb_array_elements
  json_array_elements jsonb_each json_each jsonb_object_keys json_object_keys jsonb_path_query
  jsonb_path_exists
`,
);

const PERMISSIVE = words(
  STANDARD.join(' '),
  `
  regexp_matches regexp_match regexp_split_to_array regexp_split_to_table regexp_substr format
  to_hex encode convert_from convert_to sha224 sha256 sha384 sha512 sha1 sha2 func_sha1 crc32
  fnv_hash strtol random gen_random_uuid array_cat array_append array_prepend array_remove
  array_replace array_dims array_fill array_ndims array_sample array_shuffle trim_array
  string_to_table to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery
  ts_rank ts_rank_cd ts_headline setweight numnode querytree tsvector_to_array array_to_tsvector
  levenshtein soundex difference similarity xpath xpath_exists xmlconcat xmlagg jsonb_set
  jsonb_insert jsonb_strip_nulls jsonb_pretty jsonb_path_query_array jsonb_path_query_first
  jsonb_path_match jsonb_to_record jsonb_to_recordset json_to_record json_to_recordset
  jsonb_populate_record json_populate_record jsonb_array_elements_text json_array_elements_text
  jsonb_each_text json_each_text lower_inc upper_inc lower_inf upper_inf isempty range_merge
  int4range int8range numrange daterange tsrange tstzrange num_nulls num_nonnulls factorial
  trim_scale min_scale erf erfc sinh cosh tanh bit_count get_bit get_byte overlay unistr casefold
  parse_ident
`,
);

export const LEVEL_FUNCTIONS: Readonly<Record<SecurityLevel, ReadonlySet<string>>> = {
  strict: new Set(STRICT),
  standard: new Set(STANDARD),
  permissive: new Set(PERMISSIVE),
};

/** Always blocked, by category; the category is the `reason` a rejection reports. */
const ALWAYS_BLOCKED: ReadonlyArray<{
  reason: string;
  names?: string[];
  prefixes?: string[];
  pattern?: RegExp;
}> = [
  {
    reason: 'changes or reads server settings or roles',
    names: ['set_config', 'current_setting', 'setseed'],
  },
  { reason: 'sleeps', prefixes: ['pg_sleep'] },
  {
    reason: 'reads or writes server files',
    names: ['pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_file_write'],
    prefixes: ['pg_ls_', 'pg_file_', 'pg_read_'],
  },
  { reason: 'reads or writes large objects', names: ['loread', 'lowrite'], prefixes: ['lo_'] },
  {
    reason: 'opens network connections',
    names: ['inet_server_addr', 'inet_server_port', 'inet_client_addr', 'inet_client_port'],
    prefixes: ['dblink', 'http_', 'postgres_fdw'],
  },
  {
    reason: 'signals or controls server processes',
    names: ['pg_terminate_backend', 'pg_cancel_backend', 'pg_signal_backend', 'pg_reload_conf', 'pg_promote'],
  },
  {
    reason: 'runs SQL given as text, outside the guard',
    names: ['ts_stat', 'ts_rewrite', 'query_to_xmlschema', 'cursor_to_xmlschema'],
    prefixes: ['query_to_xml', 'cursor_to_xml', 'table_to_xml', 'schema_to_xml', 'database_to_xml'],
  },
  {
    reason: 'takes locks or changes sequences or transaction state',
    names: ['nextval', 'setval', 'currval', 'lastval'],
    prefixes: ['pg_advisory', 'pg_try_advisory', 'txid_'],
  },
  {
    reason: 'maintenance operation',
    prefixes: ['brin_', 'gin_clean', 'binary_upgrade_'],
  },
  {
    reason: 'reads the system catalog',
    names: [
      'current_query',
      'version',
      'col_description',
      'obj_description',
      'shobj_description',
      'format_type',
    ],
    prefixes: ['pg_', 'to_reg'],
    pattern: /^has_\w+_privilege$/,
  },
];

export interface FunctionVerdict {
  allowed: boolean;
  reason?: string;
  /** Rejected only for want of an allowlist entry (configuration could admit it). */
  notAllowlisted?: boolean;
}

/** `parts` are the lower-cased name parts as written (`['pg_catalog', 'extract']`, `['sum']`). */
export function judgeFunction(parts: readonly string[], policy: GuardPolicy): FunctionVerdict {
  if (parts.length > 2) return { allowed: false, reason: 'cross-database function name' };
  const base = parts[parts.length - 1] ?? '';
  const schema = parts.length === 2 ? parts[0] : undefined;
  const qualified = parts.join('.');

  if ((schema === undefined || schema === 'pg_catalog') && SQL_SYNTAX_FUNCTIONS.has(base)) {
    return policy.denyFunctions.includes(base) || policy.denyFunctions.includes(qualified)
      ? { allowed: false, reason: 'denied by configuration' }
      : { allowed: true };
  }
  for (const rule of ALWAYS_BLOCKED) {
    if (
      rule.names?.includes(base) ||
      rule.prefixes?.some((p) => base.startsWith(p)) ||
      rule.pattern?.test(base)
    ) {
      return { allowed: false, reason: `always blocked: ${rule.reason}` };
    }
  }
  if (policy.denyFunctions.includes(base) || policy.denyFunctions.includes(qualified)) {
    return { allowed: false, reason: 'denied by configuration' };
  }
  if (schema === undefined || schema === 'pg_catalog') {
    if (LEVEL_FUNCTIONS[policy.level].has(base) || policy.allowFunctions.includes(base))
      return { allowed: true };
    return { allowed: false, notAllowlisted: true, reason: `not in the ${policy.level} function allowlist` };
  }
  if (policy.allowFunctions.includes(qualified)) return { allowed: true };
  return {
    allowed: false,
    notAllowlisted: true,
    reason: `schema-qualified function not in the allowlist (allow "${qualified}")`,
  };
}
