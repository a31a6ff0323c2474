/**
 * Redshift SQL for CodeMirror: PostgreSQL's grammar plus Redshift's own keywords (TOP, QUALIFY, PIVOT,
 * APPROXIMATE, DISTKEY, …) and its function library, which also feed autocompletion.
 */
import { PostgreSQL, SQLDialect } from '@codemirror/lang-sql';

const REDSHIFT_KEYWORDS =
  'top qualify pivot unpivot approximate distkey sortkey diststyle interleaved compound encode ' +
  'backup sysdate getdate ignore respect nulls within group unload copy super varbyte ' +
  'geometry geography hllsketch timetz timestamptz';

export const REDSHIFT_FUNCTIONS = [
  // aggregates
  'count', 'sum', 'avg', 'min', 'max', 'listagg', 'median', 'stddev', 'stddev_samp', 'stddev_pop',
  'variance', 'var_samp', 'var_pop', 'percentile_cont', 'percentile_disc', 'approximate', 'bool_and',
  'bool_or', 'bit_and', 'bit_or', 'any_value',
  // window
  'row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead',
  'first_value', 'last_value', 'nth_value', 'ratio_to_report',
  // date and time
  'dateadd', 'datediff', 'date_part', 'date_trunc', 'datepart', 'extract', 'getdate', 'sysdate',
  'current_date', 'current_timestamp', 'convert_timezone', 'add_months', 'months_between', 'last_day',
  'next_day', 'trunc', 'to_date', 'to_timestamp', 'to_char', 'date_cmp', 'timezone', 'timeofday',
  // strings
  'concat', 'length', 'len', 'lower', 'upper', 'initcap', 'left', 'right', 'substring', 'substr',
  'trim', 'btrim', 'ltrim', 'rtrim', 'lpad', 'rpad', 'replace', 'translate', 'reverse', 'repeat',
  'split_part', 'strpos', 'position', 'charindex', 'regexp_count', 'regexp_instr', 'regexp_replace',
  'regexp_substr', 'md5', 'sha2', 'quote_ident', 'quote_literal', 'chr', 'ascii', 'octet_length',
  // math
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'sign', 'sqrt', 'cbrt', 'power', 'exp', 'ln', 'log',
  'mod', 'pi', 'random', 'degrees', 'radians', 'sin', 'cos', 'tan',
  // conditional and conversion
  'coalesce', 'nvl', 'nvl2', 'nullif', 'decode', 'greatest', 'least', 'cast', 'convert', 'to_number',
  // JSON and SUPER
  'json_extract_path_text', 'json_extract_array_element_text', 'json_parse', 'json_serialize',
  'json_array_length', 'is_valid_json', 'json_typeof', 'array', 'get_array_length', 'split_to_array',
];

export const RedshiftSQL = SQLDialect.define({
  ...PostgreSQL.spec,
  keywords: `${PostgreSQL.spec.keywords ?? ''} ${REDSHIFT_KEYWORDS}`,
  builtin: `${PostgreSQL.spec.builtin ?? ''} ${REDSHIFT_FUNCTIONS.join(' ')}`,
});
