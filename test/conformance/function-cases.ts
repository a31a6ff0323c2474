/**
 * Function cases of the Redshift conformance corpus: Redshift functions as the AWS SQL reference
 * shows them (https://docs.aws.amazon.com/redshift/latest/dg/<source>), on literals and on the demo
 * schema. Expected values are Redshift's answers in the Query API's JSON encoding (docs/types.md):
 * TIMESTAMP "YYYY-MM-DDTHH:MM:SS", DATE "YYYY-MM-DD", BIGINT/INTEGER/DOUBLE numbers, DECIMAL strings.
 *
 * Date parts are written as strings here ('day'); bare words (DATEADD(day, …)) are syntax, in
 * syntax-cases.ts. Statements avoid backslashes in literals, which Redshift and PostgreSQL read
 * differently.
 */
import type { ConformanceCase, ConformanceRow } from './case.js';

type Value = string | number | boolean | null;

/** A statement whose single column `v` has one row with `value`, on both targets. */
function one(id: string, sql: string, value: Value, source: string, tenant?: string): ConformanceCase {
  return rows(id, sql, [{ v: value }], source, tenant);
}

function rows(
  id: string,
  sql: string,
  expected: ConformanceRow[],
  source: string,
  tenant?: string,
): ConformanceCase {
  return {
    id: `fn.${id}`,
    sql,
    ...(tenant ? { tenant } : {}),
    embedded: { rows: expected },
    redshift: {},
    source,
  };
}

/** Fails in the warehouse on both targets (Redshift rejects it at run time too). */
function fails(id: string, sql: string, source: string): ConformanceCase {
  return { id: `fn.${id}`, sql, embedded: { error: 'QUERY_FAILED' }, redshift: {}, source };
}

const DATEPARTS = 'r_Dateparts_for_datetime_functions.html';
const TS = "TIMESTAMP '2024-05-17 13:45:12.345678'";

/** DATE_PART of TS for every Redshift name and abbreviation of a part (DOUBLE PRECISION). */
const DATE_PART_BY_ABBREVIATION: Array<[parts: string[], value: number]> = [
  [['millennium', 'millennia', 'mil', 'mils'], 3],
  [['century', 'centuries', 'c', 'cent', 'cents'], 21],
  [['decade', 'decades', 'dec', 'decs'], 202],
  [['year', 'years', 'y', 'yr', 'yrs'], 2024],
  [['quarter', 'quarters', 'qtr', 'qtrs'], 2],
  [['month', 'months', 'mon', 'mons'], 5],
  [['week', 'weeks', 'w'], 20],
  [['dayofweek', 'dow', 'dw', 'weekday'], 5],
  [['day', 'days', 'd'], 17],
  [['hour', 'hours', 'h', 'hr', 'hrs'], 13],
  [['minute', 'minutes', 'm', 'min', 'mins'], 45],
  [['second', 'seconds', 's', 'sec', 'secs'], 12.345678],
  [['millisecond', 'milliseconds', 'ms', 'msec', 'msecs', 'msecond', 'mseconds', 'millisec'], 12345.678],
  [['microsecond', 'microseconds', 'microsec', 'microsecs', 'usecond', 'useconds', 'us', 'usec'], 12345678],
];

/** DATEADD(part, 1, '2024-01-31 10:00:00') for each part (TIMESTAMP). */
const DATEADD_ONE: Array<[part: string, value: string]> = [
  ['millennium', '3024-01-31T10:00:00'],
  ['century', '2124-01-31T10:00:00'],
  ['decade', '2034-01-31T10:00:00'],
  ['year', '2025-01-31T10:00:00'],
  ['quarter', '2024-04-30T10:00:00'],
  ['month', '2024-02-29T10:00:00'],
  ['week', '2024-02-07T10:00:00'],
  ['day', '2024-02-01T10:00:00'],
  ['hour', '2024-01-31T11:00:00'],
  ['minute', '2024-01-31T10:01:00'],
  ['second', '2024-01-31T10:00:01'],
  ['millisecond', '2024-01-31T10:00:00.001'],
  ['microsecond', '2024-01-31T10:00:00.000001'],
];

/** DATEDIFF(part, '2023-12-31 23:59:59', '2024-01-01 00:00:00'): one second apart, boundaries crossed (BIGINT). */
const DATEDIFF_NEW_YEAR: Array<[part: string, value: number]> = [
  ['millennium', 0],
  ['century', 0],
  ['decade', 0],
  ['year', 1],
  ['quarter', 1],
  ['month', 1],
  ['day', 1],
  ['hour', 1],
  ['minute', 1],
  ['second', 1],
  ['millisecond', 1000],
  ['microsecond', 1000000],
];

const CASES: ConformanceCase[] = [
  // GETDATE — r_GETDATE.html
  one(
    'getdate.whole-seconds',
    "SELECT GETDATE() = DATE_TRUNC('second', GETDATE()) AS v",
    true,
    'r_GETDATE.html',
  ),
  one('getdate.today', 'SELECT TRUNC(GETDATE()) = CURRENT_DATE AS v', true, 'r_GETDATE.html'),
  one('getdate.datediff-zero', "SELECT DATEDIFF('day', GETDATE(), GETDATE()) AS v", 0, 'r_GETDATE.html'),
  one('getdate.timestamp', "SELECT DATE_PART('year', GETDATE()) >= 2024 AS v", true, 'r_GETDATE.html'),

  // NVL — r_NVL_function.html
  one('nvl.null-first', "SELECT NVL(NULL, 'default') AS v", 'default', 'r_NVL_function.html'),
  one('nvl.value-first', "SELECT NVL('value', 'default') AS v", 'value', 'r_NVL_function.html'),
  one('nvl.three-args', 'SELECT NVL(NULL, NULL, 3) AS v', 3, 'r_NVL_function.html'),
  one('nvl.common-type', 'SELECT NVL(CAST(NULL AS integer), 1.5) AS v', '1.5', 'r_NVL_function.html'),
  one('nvl.empty-string', "SELECT NVL(CAST(NULL AS varchar), '') AS v", '', 'r_NVL_function.html'),
  one('nvl.all-null', 'SELECT NVL(CAST(NULL AS integer), NULL) AS v', null, 'r_NVL_function.html'),
  one(
    'nvl.empty-aggregate',
    "SELECT NVL(MAX(region), 'none') AS v FROM sales WHERE quantity < 0",
    'none',
    'r_NVL_function.html',
  ),
  one(
    'nvl.empty-sum',
    'SELECT NVL(SUM(quantity), 0) AS v FROM sales WHERE quantity < 0',
    0,
    'r_NVL_function.html',
  ),
  one('nvl.column', "SELECT NVL(MIN(region), 'none') AS v FROM sales", 'AMER', 'r_NVL_function.html'),

  // NVL2 — r_NVL2.html
  one('nvl2.not-null', "SELECT NVL2('x', 'not null', 'null') AS v", 'not null', 'r_NVL2.html'),
  one('nvl2.null', "SELECT NVL2(NULL, 'not null', 'null') AS v", 'null', 'r_NVL2.html'),
  one('nvl2.typed-null', 'SELECT NVL2(CAST(NULL AS integer), 1, 0) AS v', 0, 'r_NVL2.html'),
  one('nvl2.number', 'SELECT NVL2(5, 1, 0) AS v', 1, 'r_NVL2.html'),
  rows(
    'nvl2.column',
    "SELECT NVL2(category, 'categorised', 'none') AS v FROM products GROUP BY 1",
    [{ v: 'categorised' }],
    'r_NVL2.html',
  ),

  // DECODE — r_DECODE_expression.html
  one(
    'decode.match',
    "SELECT DECODE(2, 1, 'one', 2, 'two', 'other') AS v",
    'two',
    'r_DECODE_expression.html',
  ),
  one(
    'decode.default',
    "SELECT DECODE(3, 1, 'one', 2, 'two', 'other') AS v",
    'other',
    'r_DECODE_expression.html',
  ),
  one('decode.no-default', "SELECT DECODE(3, 1, 'one', 2, 'two') AS v", null, 'r_DECODE_expression.html'),
  one(
    'decode.null-matches-null',
    "SELECT DECODE(CAST(NULL AS integer), NULL, 'was null', 'not null') AS v",
    'was null',
    'r_DECODE_expression.html',
  ),
  one(
    'decode.catname',
    "SELECT DECODE('NHL', 'NHL', 'National Hockey League', 'MLB', 'Major League Baseball', 'MLS', 'Major League Soccer', 'NFL', 'National Football League', 'NBA', 'National Basketball Association', 'Unknown') AS v",
    'National Hockey League',
    'r_DECODE_expression.html',
  ),
  one(
    'decode.catname-unknown',
    "SELECT DECODE('XFL', 'NHL', 'National Hockey League', 'MLB', 'Major League Baseball', 'Unknown') AS v",
    'Unknown',
    'r_DECODE_expression.html',
  ),
  one(
    'decode.date',
    "SELECT DECODE(CAST('2008-06-01' AS date), '2008-06-01', 'June 1st, 2008') AS v",
    'June 1st, 2008',
    'r_DECODE_expression.html',
  ),
  rows(
    'decode.regions',
    "SELECT DECODE(region, 'AMER', 'Americas', 'EMEA', 'Europe', 'APAC', 'Asia Pacific') AS v FROM sales GROUP BY region ORDER BY 1",
    [{ v: 'Americas' }, { v: 'Asia Pacific' }, { v: 'Europe' }],
    'r_DECODE_expression.html',
  ),
  one(
    'decode.number-result',
    "SELECT DECODE(region, 'AMER', 1, 'EMEA', 2, 3) AS v FROM sales WHERE region = 'EMEA' GROUP BY region",
    2,
    'r_DECODE_expression.html',
  ),

  // DATEADD — r_DATEADD_function.html
  one(
    'dateadd.month-end-leap',
    "SELECT DATEADD('month', 1, CAST('2024-01-31' AS date)) AS v",
    '2024-02-29T00:00:00',
    'r_DATEADD_function.html',
  ),
  one(
    'dateadd.untyped-literal',
    "SELECT DATEADD('month', 1, '2024-01-31') AS v",
    '2024-02-29T00:00:00',
    'r_DATEADD_function.html',
  ),
  one(
    'dateadd.days-over-leap',
    "SELECT DATEADD('day', 30, CAST('2008-02-28' AS date)) AS v",
    '2008-03-29T00:00:00',
    'r_DATEADD_function.html',
  ),
  one(
    'dateadd.eighteen-months',
    "SELECT DATEADD('month', 18, CAST('2008-02-28' AS date)) AS v",
    '2009-08-28T00:00:00',
    'r_DATEADD_function.html',
  ),
  one(
    'dateadd.d',
    "SELECT DATEADD('d', 1, CAST('2024-02-28' AS date)) AS v",
    '2024-02-29T00:00:00',
    DATEPARTS,
  ),
  one(
    'dateadd.y-negative',
    "SELECT DATEADD('y', -1, CAST('2024-02-29' AS date)) AS v",
    '2023-02-28T00:00:00',
    DATEPARTS,
  ),
  one(
    'dateadd.qtr',
    "SELECT DATEADD('qtr', 1, CAST('2024-11-30' AS date)) AS v",
    '2025-02-28T00:00:00',
    DATEPARTS,
  ),
  one(
    'dateadd.w',
    "SELECT DATEADD('w', 2, CAST('2024-01-01' AS date)) AS v",
    '2024-01-15T00:00:00',
    DATEPARTS,
  ),
  one(
    'dateadd.h-over-midnight',
    "SELECT DATEADD('h', 5, TIMESTAMP '2024-01-01 22:00:00') AS v",
    '2024-01-02T03:00:00',
    DATEPARTS,
  ),
  one(
    'dateadd.m-is-minute',
    "SELECT DATEADD('m', 90, TIMESTAMP '2024-01-01 00:00:00') AS v",
    '2024-01-01T01:30:00',
    DATEPARTS,
  ),
  one(
    'dateadd.ms',
    "SELECT DATEADD('ms', 1500, TIMESTAMP '2024-01-01 00:00:00') AS v",
    '2024-01-01T00:00:01.5',
    DATEPARTS,
  ),
  one('dateadd.mon-back', "SELECT DATEADD('mon', -1, '2024-03-31') AS v", '2024-02-29T00:00:00', DATEPARTS),
  one(
    'dateadd.hours-back',
    "SELECT DATEADD('hours', -1, TIMESTAMP '2024-03-01 00:30:00') AS v",
    '2024-02-29T23:30:00',
    DATEPARTS,
  ),
  one('dateadd.null', "SELECT DATEADD('day', 1, CAST(NULL AS date)) AS v", null, 'r_DATEADD_function.html'),
  ...DATEADD_ONE.map(([part, value]) =>
    one(
      `dateadd.one-${part}`,
      `SELECT DATEADD('${part}', 1, TIMESTAMP '2024-01-31 10:00:00') AS v`,
      value,
      DATEPARTS,
    ),
  ),
  one(
    'dateadd.demo-first-sale',
    "SELECT CAST(MIN(DATEADD('day', 1, sold_at)) AS date) AS v FROM sales",
    '2023-01-02',
    'r_DATEADD_function.html',
  ),
  fails('dateadd.invalid-part', "SELECT DATEADD('fortnight', 1, CAST('2024-01-01' AS date)) AS v", DATEPARTS),

  // DATEDIFF — r_DATEDIFF_function.html
  one(
    'datediff.year-boundary',
    "SELECT DATEDIFF('year', CAST('2023-12-31' AS date), CAST('2024-01-01' AS date)) AS v",
    1,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.year-untyped',
    "SELECT DATEDIFF('year', '2023-12-31', '2024-01-01') AS v",
    1,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.days',
    "SELECT DATEDIFF('day', CAST('2024-01-01' AS date), CAST('2024-03-01' AS date)) AS v",
    60,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.month-boundary',
    "SELECT DATEDIFF('month', CAST('2024-01-31' AS date), CAST('2024-02-01' AS date)) AS v",
    1,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.same-month',
    "SELECT DATEDIFF('month', '2024-02-01', '2024-02-29') AS v",
    0,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.qtr',
    "SELECT DATEDIFF('qtr', CAST('1998-07-01' AS date), CAST('1998-10-01' AS date)) AS v",
    1,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.weeks-2009',
    "SELECT DATEDIFF('week', '2009-01-01', '2009-12-31') AS v",
    52,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.hour-boundary',
    "SELECT DATEDIFF('hour', TIMESTAMP '2024-01-01 10:59:59', TIMESTAMP '2024-01-01 11:00:00') AS v",
    1,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.minute-boundary',
    "SELECT DATEDIFF('minute', '2024-01-01 10:00:59', '2024-01-01 10:01:00') AS v",
    1,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.second-boundary',
    "SELECT DATEDIFF('second', '2024-01-01 10:00:00.9', '2024-01-01 10:00:01.1') AS v",
    1,
    'r_DATEDIFF_function.html',
  ),
  one('datediff.h-day', "SELECT DATEDIFF('h', '2024-01-01', '2024-01-02') AS v", 24, DATEPARTS),
  one(
    'datediff.negative-day',
    "SELECT DATEDIFF('day', '2024-01-02', '2024-01-01') AS v",
    -1,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.negative-year',
    "SELECT DATEDIFF('year', '2024-01-01', '2023-12-31') AS v",
    -1,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.d-midnight',
    "SELECT DATEDIFF('d', '2024-02-28 23:59:59', '2024-02-29 00:00:00') AS v",
    1,
    DATEPARTS,
  ),
  one(
    'datediff.ms',
    "SELECT DATEDIFF('ms', '2024-01-01 00:00:00', '2024-01-01 00:00:01.5') AS v",
    1500,
    DATEPARTS,
  ),
  one('datediff.decade-boundary', "SELECT DATEDIFF('decade', '2019-12-31', '2020-01-01') AS v", 1, DATEPARTS),
  one(
    'datediff.null',
    "SELECT DATEDIFF('day', CAST(NULL AS date), CURRENT_DATE) AS v",
    null,
    'r_DATEDIFF_function.html',
  ),
  ...DATEDIFF_NEW_YEAR.map(([part, value]) =>
    one(
      `datediff.new-year-${part}`,
      `SELECT DATEDIFF('${part}', TIMESTAMP '2023-12-31 23:59:59', TIMESTAMP '2024-01-01 00:00:00') AS v`,
      value,
      'r_DATEDIFF_function.html',
    ),
  ),
  one(
    'datediff.demo-years',
    "SELECT MAX(DATEDIFF('year', '2023-01-01', sold_at)) AS v FROM sales",
    2,
    'r_DATEDIFF_function.html',
  ),
  one(
    'datediff.demo-first-day',
    "SELECT MIN(DATEDIFF('day', '2023-01-01', sold_at)) AS v FROM sales",
    0,
    'r_DATEDIFF_function.html',
  ),
  fails('datediff.invalid-part', "SELECT DATEDIFF('fortnight', '2024-01-01', '2024-02-01') AS v", DATEPARTS),

  // DATE_PART — r_DATE_PART_function.html (DOUBLE PRECISION; DOW 0–6 from Sunday)
  ...DATE_PART_BY_ABBREVIATION.flatMap(([parts, value]) =>
    parts.map((part) =>
      one(`date_part.${part}`, `SELECT DATE_PART('${part}', ${TS}) AS v`, value, DATEPARTS),
    ),
  ),
  one(
    'date_part.minute-doc',
    "SELECT DATE_PART('minute', TIMESTAMP '2009-09-09 12:08:43') AS v",
    8,
    'r_DATE_PART_function.html',
  ),
  one(
    'date_part.sec-fraction-doc',
    "SELECT DATE_PART('sec', TIMESTAMP '2009-09-21 11:10:03.189717') AS v",
    3.189717,
    DATEPARTS,
  ),
  one('date_part.dow-sunday', "SELECT DATE_PART('dow', CAST('2024-05-05' AS date)) AS v", 0, DATEPARTS),
  one('date_part.dw-monday', "SELECT DATE_PART('dw', CAST('2024-05-06' AS date)) AS v", 1, DATEPARTS),
  one('date_part.w-first-week', "SELECT DATE_PART('w', CAST('2024-01-01' AS date)) AS v", 1, DATEPARTS),
  one(
    'date_part.untyped-literal',
    "SELECT DATE_PART('month', '2024-05-01') AS v",
    5,
    'r_DATE_PART_function.html',
  ),
  one(
    'date_part.timestamptz-utc',
    "SELECT DATE_PART('hour', TIMESTAMPTZ '2024-01-01 10:00:00+02') AS v",
    8,
    'r_DATE_PART_function.html',
  ),
  rows(
    'date_part.demo-years',
    "SELECT DATE_PART('year', sold_at) AS v FROM sales GROUP BY 1 ORDER BY 1",
    [{ v: 2023 }, { v: 2024 }, { v: 2025 }],
    'r_DATE_PART_function.html',
  ),
  fails(
    'date_part.invalid-part',
    "SELECT DATE_PART('fortnight', TIMESTAMP '2024-01-01 00:00:00') AS v",
    DATEPARTS,
  ),

  // DATE_TRUNC — r_DATE_TRUNC.html (TIMESTAMP; weeks start on Monday)
  one(
    'date_trunc.week-monday',
    `SELECT DATE_TRUNC('week', ${TS}) AS v`,
    '2024-05-13T00:00:00',
    'r_DATE_TRUNC.html',
  ),
  one(
    'date_trunc.month',
    `SELECT DATE_TRUNC('month', ${TS}) AS v`,
    '2024-05-01T00:00:00',
    'r_DATE_TRUNC.html',
  ),
  one(
    'date_trunc.quarter',
    `SELECT DATE_TRUNC('quarter', ${TS}) AS v`,
    '2024-04-01T00:00:00',
    'r_DATE_TRUNC.html',
  ),
  one('date_trunc.year', `SELECT DATE_TRUNC('year', ${TS}) AS v`, '2024-01-01T00:00:00', 'r_DATE_TRUNC.html'),
  one('date_trunc.day', `SELECT DATE_TRUNC('day', ${TS}) AS v`, '2024-05-17T00:00:00', 'r_DATE_TRUNC.html'),
  one('date_trunc.hour', `SELECT DATE_TRUNC('hour', ${TS}) AS v`, '2024-05-17T13:00:00', 'r_DATE_TRUNC.html'),
  one(
    'date_trunc.minute',
    `SELECT DATE_TRUNC('minute', ${TS}) AS v`,
    '2024-05-17T13:45:00',
    'r_DATE_TRUNC.html',
  ),
  one(
    'date_trunc.second',
    `SELECT DATE_TRUNC('second', ${TS}) AS v`,
    '2024-05-17T13:45:12',
    'r_DATE_TRUNC.html',
  ),
  one(
    'date_trunc.decade',
    `SELECT DATE_TRUNC('decade', ${TS}) AS v`,
    '2020-01-01T00:00:00',
    'r_DATE_TRUNC.html',
  ),
  one(
    'date_trunc.century',
    `SELECT DATE_TRUNC('century', ${TS}) AS v`,
    '2001-01-01T00:00:00',
    'r_DATE_TRUNC.html',
  ),
  one(
    'date_trunc.millennium',
    `SELECT DATE_TRUNC('millennium', ${TS}) AS v`,
    '2001-01-01T00:00:00',
    'r_DATE_TRUNC.html',
  ),
  one(
    'date_trunc.date-is-timestamp',
    "SELECT DATE_TRUNC('month', CAST('2024-05-17' AS date)) AS v",
    '2024-05-01T00:00:00',
    'r_DATE_TRUNC.html',
  ),
  one(
    'date_trunc.demo-first-year',
    "SELECT DATE_TRUNC('year', MIN(sold_at)) AS v FROM sales",
    '2023-01-01T00:00:00',
    'r_DATE_TRUNC.html',
  ),
  one(
    'date_trunc.demo-months',
    "SELECT COUNT(DISTINCT DATE_TRUNC('month', sold_at)) AS v FROM sales",
    36,
    'r_DATE_TRUNC.html',
  ),

  // TRUNC — r_TRUNC_date.html, r_TRUNC.html
  one(
    'trunc.timestamp-doc',
    "SELECT TRUNC(TIMESTAMP '2011-07-21 10:32:38.248109') AS v",
    '2011-07-21',
    'r_TRUNC_date.html',
  ),
  one('trunc.number', 'SELECT TRUNC(111.86) AS v', '111', 'r_TRUNC.html'),
  one('trunc.number-scale', 'SELECT TRUNC(111.86, 1) AS v', '111.8', 'r_TRUNC.html'),
  one('trunc.number-tens', 'SELECT TRUNC(111.86, -1) AS v', '110', 'r_TRUNC.html'),
  one(
    'trunc.demo-first-day',
    'SELECT MIN(TRUNC(sold_at)) AS v FROM sales',
    '2023-01-01',
    'r_TRUNC_date.html',
  ),

  // ADD_MONTHS — r_ADD_MONTHS.html (TIMESTAMP; a month's last day goes to the last day)
  one(
    'add_months.doc',
    "SELECT ADD_MONTHS('2008-03-31', 1) AS v",
    '2008-04-30T00:00:00',
    'r_ADD_MONTHS.html',
  ),
  one(
    'add_months.leap-day-last',
    "SELECT ADD_MONTHS(CAST('2008-02-29' AS date), 1) AS v",
    '2008-03-31T00:00:00',
    'r_ADD_MONTHS.html',
  ),
  one(
    'add_months.mid-month',
    "SELECT ADD_MONTHS(CAST('2008-01-15' AS date), 1) AS v",
    '2008-02-15T00:00:00',
    'r_ADD_MONTHS.html',
  ),
  one(
    'add_months.shorter-month',
    "SELECT ADD_MONTHS(CAST('2008-01-31' AS date), 1) AS v",
    '2008-02-29T00:00:00',
    'r_ADD_MONTHS.html',
  ),
  one(
    'add_months.backwards',
    "SELECT ADD_MONTHS(CAST('2008-03-31' AS date), -1) AS v",
    '2008-02-29T00:00:00',
    'r_ADD_MONTHS.html',
  ),
  one(
    'add_months.timestamp',
    "SELECT ADD_MONTHS(TIMESTAMP '2008-01-15 10:30:00', 12) AS v",
    '2009-01-15T10:30:00',
    'r_ADD_MONTHS.html',
  ),
  one(
    'add_months.to-longer-month',
    "SELECT ADD_MONTHS(CAST('2024-04-30' AS date), 1) AS v",
    '2024-05-31T00:00:00',
    'r_ADD_MONTHS.html',
  ),

  // LAST_DAY — r_LAST_DAY.html (DATE)
  one('last_day.leap', "SELECT LAST_DAY(CAST('2008-02-10' AS date)) AS v", '2008-02-29', 'r_LAST_DAY.html'),
  one('last_day.non-leap', "SELECT LAST_DAY('2023-02-10') AS v", '2023-02-28', 'r_LAST_DAY.html'),
  one(
    'last_day.timestamp',
    "SELECT LAST_DAY(TIMESTAMP '2024-12-05 10:00:00') AS v",
    '2024-12-31',
    'r_LAST_DAY.html',
  ),
  one('last_day.demo', 'SELECT LAST_DAY(MIN(sold_at)) AS v FROM sales', '2023-01-31', 'r_LAST_DAY.html'),

  // NEXT_DAY — r_NEXT_DAY.html (DATE, strictly after the date)
  one('next_day.doc', "SELECT NEXT_DAY('2014-08-20', 'Tuesday') AS v", '2014-08-26', 'r_NEXT_DAY.html'),
  one(
    'next_day.same-weekday',
    "SELECT NEXT_DAY(CAST('2014-08-20' AS date), 'Wed') AS v",
    '2014-08-27',
    'r_NEXT_DAY.html',
  ),
  one('next_day.sa', "SELECT NEXT_DAY('2014-08-20', 'sa') AS v", '2014-08-23', 'r_NEXT_DAY.html'),
  one('next_day.upper-case', "SELECT NEXT_DAY('2014-08-20', 'MONDAY') AS v", '2014-08-25', 'r_NEXT_DAY.html'),
  one('next_day.th', "SELECT NEXT_DAY('2014-08-20', 'Th') AS v", '2014-08-21', 'r_NEXT_DAY.html'),
  one(
    'next_day.timestamp',
    "SELECT NEXT_DAY(TIMESTAMP '2014-08-20 23:00:00', 'Sunday') AS v",
    '2014-08-24',
    'r_NEXT_DAY.html',
  ),

  // MONTHS_BETWEEN — r_MONTHS_BETWEEN_function.html (FLOAT8)
  one(
    'months_between.doc',
    "SELECT MONTHS_BETWEEN('1969-01-18', '1969-03-18') AS v",
    -2,
    'r_MONTHS_BETWEEN_function.html',
  ),
  one(
    'months_between.same-day',
    "SELECT MONTHS_BETWEEN(CAST('2014-02-15' AS date), CAST('2014-01-15' AS date)) AS v",
    1,
    'r_MONTHS_BETWEEN_function.html',
  ),
  one(
    'months_between.last-days',
    "SELECT MONTHS_BETWEEN(CAST('2014-09-30' AS date), CAST('2014-08-31' AS date)) AS v",
    1,
    'r_MONTHS_BETWEEN_function.html',
  ),
  one(
    'months_between.fraction',
    "SELECT MONTHS_BETWEEN(CAST('1995-02-02' AS date), CAST('1995-01-01' AS date)) AS v",
    1 + 1 / 31,
    'r_MONTHS_BETWEEN_function.html',
  ),
  one(
    'months_between.zero',
    "SELECT MONTHS_BETWEEN('2024-01-01', '2024-01-01') AS v",
    0,
    'r_MONTHS_BETWEEN_function.html',
  ),

  // CONVERT_TIMEZONE — CONVERT_TIMEZONE.html (TIMESTAMP)
  one(
    'convert_timezone.est-pst',
    "SELECT CONVERT_TIMEZONE('EST', 'PST', '20080305 12:25:29') AS v",
    '2008-03-05T09:25:29',
    'CONVERT_TIMEZONE.html',
  ),
  one(
    'convert_timezone.utc-new-york-summer',
    "SELECT CONVERT_TIMEZONE('UTC', 'America/New_York', TIMESTAMP '2024-07-01 12:00:00') AS v",
    '2024-07-01T08:00:00',
    'CONVERT_TIMEZONE.html',
  ),
  one(
    'convert_timezone.two-args-from-utc',
    "SELECT CONVERT_TIMEZONE('America/New_York', TIMESTAMP '2024-01-01 12:00:00') AS v",
    '2024-01-01T07:00:00',
    'CONVERT_TIMEZONE.html',
  ),
  one(
    'convert_timezone.tokyo-utc',
    "SELECT CONVERT_TIMEZONE('Asia/Tokyo', 'UTC', '2024-01-01 09:00:00') AS v",
    '2024-01-01T00:00:00',
    'CONVERT_TIMEZONE.html',
  ),

  // LEN — r_LEN.html (INTEGER; CHAR's trailing blanks are not counted)
  one('len.multibyte', "SELECT LEN('français') AS v", 8, 'r_LEN.html'),
  one('len.char-padding', "SELECT LEN(CAST('cat' AS char(10))) AS v", 3, 'r_LEN.html'),
  one('len.empty', "SELECT LEN('') AS v", 0, 'r_LEN.html'),
  one('len.null', 'SELECT LEN(CAST(NULL AS varchar)) AS v', null, 'r_LEN.html'),
  one('len.demo-acme', 'SELECT LEN(tenant_id) AS v FROM sales GROUP BY 1', 4, 'r_LEN.html'),
  one('len.demo-globex', 'SELECT LEN(tenant_id) AS v FROM sales GROUP BY 1', 6, 'r_LEN.html', 'globex'),
  one('len.demo-initech', 'SELECT LEN(tenant_id) AS v FROM sales GROUP BY 1', 7, 'r_LEN.html', 'initech'),

  // CHARINDEX — r_CHARINDEX.html
  one('charindex.absent', "SELECT CHARINDEX('dog', 'fish') AS v", 0, 'r_CHARINDEX.html'),
  one('charindex.present', "SELECT CHARINDEX('fish', 'dogfish') AS v", 4, 'r_CHARINDEX.html'),
  one('charindex.first', "SELECT CHARINDEX('a', 'banana') AS v", 2, 'r_CHARINDEX.html'),
  one(
    'charindex.demo',
    "SELECT CHARINDEX('M', region) AS v FROM sales WHERE region = 'EMEA' GROUP BY region",
    2,
    'r_CHARINDEX.html',
  ),

  // STRTOL — r_STRTOL.html (BIGINT)
  one('strtol.hex-prefix', "SELECT STRTOL('0xf', 16) AS v", 15, 'r_STRTOL.html'),
  one('strtol.hex', "SELECT STRTOL('abcd1234', 16) AS v", 2882343476, 'r_STRTOL.html'),
  one('strtol.decimal', "SELECT STRTOL('1234567', 10) AS v", 1234567, 'r_STRTOL.html'),
  one('strtol.binary', "SELECT STRTOL('110101', 2) AS v", 53, 'r_STRTOL.html'),
  one('strtol.negative', "SELECT STRTOL('-12', 10) AS v", -12, 'r_STRTOL.html'),
  one('strtol.octal', "SELECT STRTOL('777', 8) AS v", 511, 'r_STRTOL.html'),
  one('strtol.null', 'SELECT STRTOL(CAST(NULL AS varchar), 10) AS v', null, 'r_STRTOL.html'),

  // DLOG10, DLOG1, DEXP — r_DLOG10.html, r_DLOG1.html, r_DEXP.html (DOUBLE PRECISION)
  one('dlog10.hundred', 'SELECT DLOG10(100) AS v', 2, 'r_DLOG10.html'),
  one('dlog10.one', 'SELECT DLOG10(1) AS v', 0, 'r_DLOG10.html'),
  one('dlog1.one', 'SELECT DLOG1(1) AS v', 0, 'r_DLOG1.html'),
  one('dexp.zero', 'SELECT DEXP(0) AS v', 1, 'r_DEXP.html'),
  one('dexp.one', 'SELECT DEXP(1) AS v', Math.E, 'r_DEXP.html'),
  one('dlog1.inverse', 'SELECT DLOG1(DEXP(2)) AS v', 2, 'r_DLOG1.html'),

  // String functions PostgreSQL shares — r_INITCAP.html, SPLIT_PART.html, r_BTRIM.html, r_GREATEST_LEAST.html, r_NULLIF_function.html
  one('initcap.words', "SELECT INITCAP('hello world') AS v", 'Hello World', 'r_INITCAP.html'),
  one('initcap.mixed-case', "SELECT INITCAP('aBcDeF') AS v", 'Abcdef', 'r_INITCAP.html'),
  one('initcap.hyphen', "SELECT INITCAP('great-tasting') AS v", 'Great-Tasting', 'r_INITCAP.html'),
  rows(
    'initcap.demo',
    'SELECT INITCAP(LOWER(region)) AS v FROM sales GROUP BY 1 ORDER BY 1',
    [{ v: 'Amer' }, { v: 'Apac' }, { v: 'Emea' }],
    'r_INITCAP.html',
  ),
  one('split_part.doc', "SELECT SPLIT_PART('2008-03-05', '-', 2) AS v", '03', 'SPLIT_PART.html'),
  one('split_part.beyond', "SELECT SPLIT_PART('abc', ',', 2) AS v", '', 'SPLIT_PART.html'),
  one('btrim.blanks', "SELECT BTRIM('    abc    ') AS v", 'abc', 'r_BTRIM.html'),
  one('btrim.characters', "SELECT BTRIM('xyzaxyzbxyzcxyz', 'xyz') AS v", 'axyzbxyzc', 'r_BTRIM.html'),
  one('greatest.numbers', 'SELECT GREATEST(1, 5, 3) AS v', 5, 'r_GREATEST_LEAST.html'),
  one('least.strings', "SELECT LEAST('b', 'a', 'c') AS v", 'a', 'r_GREATEST_LEAST.html'),
  one('greatest.ignores-null', 'SELECT GREATEST(1, NULL, 3) AS v', 3, 'r_GREATEST_LEAST.html'),
  one('nullif.equal', "SELECT NULLIF('a', 'a') AS v", null, 'r_NULLIF_function.html'),
  one('nullif.different', 'SELECT NULLIF(1, 2) AS v', 1, 'r_NULLIF_function.html'),

  // REGEXP_COUNT — REGEXP_COUNT.html
  one(
    'regexp_count.doc',
    "SELECT REGEXP_COUNT('abcdefghijklmnopqrstuvwxyz', '[a-z]{3}') AS v",
    8,
    'REGEXP_COUNT.html',
  ),
  one(
    'regexp_count.insensitive',
    "SELECT REGEXP_COUNT('ABC abc', 'abc', 1, 'i') AS v",
    2,
    'REGEXP_COUNT.html',
  ),
  one('regexp_count.position', "SELECT REGEXP_COUNT('abc abc', 'abc', 2) AS v", 1, 'REGEXP_COUNT.html'),
  one('regexp_count.pcre', "SELECT REGEXP_COUNT('a1b22c333', '[0-9]+', 1, 'p') AS v", 3, 'REGEXP_COUNT.html'),

  // REGEXP_INSTR — REGEXP_INSTR.html
  one('regexp_instr.start', "SELECT REGEXP_INSTR('Cus@example.com', '@[^.]*') AS v", 4, 'REGEXP_INSTR.html'),
  one(
    'regexp_instr.after',
    "SELECT REGEXP_INSTR('Cus@example.com', '@[^.]*', 1, 1, 1) AS v",
    12,
    'REGEXP_INSTR.html',
  ),
  one('regexp_instr.absent', "SELECT REGEXP_INSTR('abc', 'x') AS v", 0, 'REGEXP_INSTR.html'),
  one(
    'regexp_instr.occurrence',
    "SELECT REGEXP_INSTR('aXbX', 'x', 1, 2, 0, 'i') AS v",
    4,
    'REGEXP_INSTR.html',
  ),

  // REGEXP_REPLACE — REGEXP_REPLACE.html (every occurrence; replacement defaults to '')
  one(
    'regexp_replace.doc-domain',
    "SELECT REGEXP_REPLACE('DonecFri@example.com', '@.*[.](org|gov|com|edu|ca)$') AS v",
    'DonecFri',
    'REGEXP_REPLACE.html',
  ),
  one('regexp_replace.all', "SELECT REGEXP_REPLACE('aaa', 'a', 'b') AS v", 'bbb', 'REGEXP_REPLACE.html'),
  one(
    'regexp_replace.remove-digits',
    "SELECT REGEXP_REPLACE('a1b2c3', '[0-9]') AS v",
    'abc',
    'REGEXP_REPLACE.html',
  ),
  one(
    'regexp_replace.position',
    "SELECT REGEXP_REPLACE('abcabc', 'b', 'X', 3) AS v",
    'abcaXc',
    'REGEXP_REPLACE.html',
  ),
  one(
    'regexp_replace.insensitive',
    "SELECT REGEXP_REPLACE('ABCabc', 'b', 'X', 1, 'i') AS v",
    'AXCaXc',
    'REGEXP_REPLACE.html',
  ),
  rows(
    'regexp_replace.demo',
    "SELECT REGEXP_REPLACE(region, '[AEIOU]', '') AS v FROM sales GROUP BY 1 ORDER BY 1",
    [{ v: 'M' }, { v: 'MR' }, { v: 'PC' }],
    'REGEXP_REPLACE.html',
  ),

  // REGEXP_SUBSTR — REGEXP_SUBSTR.html ('' when nothing matches)
  one(
    'regexp_substr.doc',
    "SELECT REGEXP_SUBSTR('Suspendisse.tristique@nisl.com', '@[^.]*') AS v",
    '@nisl',
    'REGEXP_SUBSTR.html',
  ),
  one('regexp_substr.no-match', "SELECT REGEXP_SUBSTR('abc', 'x') AS v", '', 'REGEXP_SUBSTR.html'),
  one(
    'regexp_substr.occurrence',
    "SELECT REGEXP_SUBSTR('abc123def456', '[0-9]+', 1, 2) AS v",
    '456',
    'REGEXP_SUBSTR.html',
  ),
  one(
    'regexp_substr.subexpression',
    "SELECT REGEXP_SUBSTR('This is a cat', 'This is a ([a-z]+)', 1, 1, 'e') AS v",
    'cat',
    'REGEXP_SUBSTR.html',
  ),
  one(
    'regexp_substr.insensitive',
    "SELECT REGEXP_SUBSTR('ABC', 'b', 1, 1, 'i') AS v",
    'B',
    'REGEXP_SUBSTR.html',
  ),
  one('regexp_substr.past-end', "SELECT REGEXP_SUBSTR('abc', 'a', 10) AS v", '', 'REGEXP_SUBSTR.html'),

  // JSON functions — JSON_EXTRACT_PATH_TEXT.html, JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html, JSON_ARRAY_LENGTH.html, IS_VALID_JSON.html
  one(
    'json_extract_path_text.doc',
    `SELECT JSON_EXTRACT_PATH_TEXT('{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}}', 'f4', 'f6') AS v`,
    'star',
    'JSON_EXTRACT_PATH_TEXT.html',
  ),
  one(
    'json_extract_path_text.number',
    `SELECT JSON_EXTRACT_PATH_TEXT('{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}}', 'f2', 'f3') AS v`,
    '1',
    'JSON_EXTRACT_PATH_TEXT.html',
  ),
  one(
    'json_extract_path_text.farm',
    `SELECT JSON_EXTRACT_PATH_TEXT('{"farm": {"barn": {"color": "red", "feed stocked": true}}}', 'farm', 'barn', 'color') AS v`,
    'red',
    'JSON_EXTRACT_PATH_TEXT.html',
  ),
  one(
    'json_extract_path_text.missing',
    `SELECT JSON_EXTRACT_PATH_TEXT('{"a":1}', 'b') AS v`,
    null,
    'JSON_EXTRACT_PATH_TEXT.html',
  ),
  one(
    'json_extract_path_text.invalid-null',
    `SELECT JSON_EXTRACT_PATH_TEXT('{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}', 'f4', 'f6', true) AS v`,
    null,
    'JSON_EXTRACT_PATH_TEXT.html',
  ),
  fails(
    'json_extract_path_text.invalid-error',
    `SELECT JSON_EXTRACT_PATH_TEXT('{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}', 'f4', 'f6') AS v`,
    'JSON_EXTRACT_PATH_TEXT.html',
  ),
  one(
    'json_extract_array_element_text.doc',
    "SELECT JSON_EXTRACT_ARRAY_ELEMENT_TEXT('[111,112,113]', 2) AS v",
    '113',
    'JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html',
  ),
  one(
    'json_extract_array_element_text.first',
    "SELECT JSON_EXTRACT_ARRAY_ELEMENT_TEXT('[111,112,113]', 0) AS v",
    '111',
    'JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html',
  ),
  one(
    'json_extract_array_element_text.invalid-null',
    "SELECT JSON_EXTRACT_ARRAY_ELEMENT_TEXT('[111,112,113', 0, true) AS v",
    null,
    'JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html',
  ),
  one(
    'json_array_length.doc',
    `SELECT JSON_ARRAY_LENGTH('[11,12,13,{"f1":21,"f2":[25,26]},14]') AS v`,
    5,
    'JSON_ARRAY_LENGTH.html',
  ),
  one('json_array_length.empty', "SELECT JSON_ARRAY_LENGTH('[]') AS v", 0, 'JSON_ARRAY_LENGTH.html'),
  one(
    'json_array_length.invalid-null',
    "SELECT JSON_ARRAY_LENGTH('[1,2', true) AS v",
    null,
    'JSON_ARRAY_LENGTH.html',
  ),
  fails('json_array_length.invalid-error', "SELECT JSON_ARRAY_LENGTH('[1,2') AS v", 'JSON_ARRAY_LENGTH.html'),
  one('is_valid_json.object', `SELECT IS_VALID_JSON('{"a":2}') AS v`, true, 'IS_VALID_JSON.html'),
  one('is_valid_json.nested', `SELECT IS_VALID_JSON('{"a": [1,2,"b"]}') AS v`, true, 'IS_VALID_JSON.html'),
  one('is_valid_json.braces', "SELECT IS_VALID_JSON('{{}}') AS v", false, 'IS_VALID_JSON.html'),
  one('is_valid_json.array-is-not', "SELECT IS_VALID_JSON('[1,2,3]') AS v", false, 'IS_VALID_JSON.html'),
  one(
    'is_valid_json_array.array',
    "SELECT IS_VALID_JSON_ARRAY('[1,2,3]') AS v",
    true,
    'IS_VALID_JSON_ARRAY.html',
  ),
  one(
    'is_valid_json_array.object',
    `SELECT IS_VALID_JSON_ARRAY('{"a":1}') AS v`,
    false,
    'IS_VALID_JSON_ARRAY.html',
  ),
  one(
    'is_valid_json_array.broken',
    "SELECT IS_VALID_JSON_ARRAY('[') AS v",
    false,
    'IS_VALID_JSON_ARRAY.html',
  ),

  // LISTAGG — r_LISTAGG.html (order-independent checks: without WITHIN GROUP the order is not defined)
  one('listagg.single', "SELECT LISTAGG(x, ',') AS v FROM (SELECT 'a' AS x) AS t", 'a', 'r_LISTAGG.html'),
  one(
    'listagg.regions-length',
    "SELECT LEN(LISTAGG(region, ',')) AS v FROM (SELECT DISTINCT region FROM sales) AS r",
    14,
    'r_LISTAGG.html',
  ),
  one(
    'listagg.skips-null',
    "SELECT LISTAGG(x, ',') AS v FROM (SELECT CAST(NULL AS varchar) AS x UNION ALL SELECT 'b') AS t",
    'b',
    'r_LISTAGG.html',
  ),
  one(
    'listagg.all-null',
    "SELECT LISTAGG(x, ',') AS v FROM (SELECT CAST(NULL AS varchar) AS x) AS t",
    null,
    'r_LISTAGG.html',
  ),
  one('listagg.no-delimiter', "SELECT LISTAGG(x) AS v FROM (SELECT 'a' AS x) AS t", 'a', 'r_LISTAGG.html'),

  // MEDIAN — r_MEDIAN.html (DECIMAL for integers, DOUBLE for floating point; NULLs ignored)
  one(
    'median.odd',
    'SELECT MEDIAN(x) AS v FROM (SELECT 10 AS x UNION ALL SELECT 15 UNION ALL SELECT 20) AS t',
    '15.0',
    'r_MEDIAN.html',
  ),
  one(
    'median.even-interpolates',
    'SELECT MEDIAN(x) AS v FROM (SELECT 10 AS x UNION ALL SELECT 15 UNION ALL SELECT 20 UNION ALL SELECT 30) AS t',
    '17.5',
    'r_MEDIAN.html',
  ),
  one(
    'median.double',
    'SELECT MEDIAN(x) AS v FROM (SELECT CAST(1 AS float8) AS x UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) AS t',
    2.5,
    'r_MEDIAN.html',
  ),
  one(
    'median.ignores-null',
    'SELECT MEDIAN(x) AS v FROM (SELECT 1 AS x UNION ALL SELECT NULL UNION ALL SELECT 3) AS t',
    '2.0',
    'r_MEDIAN.html',
  ),
  one('median.demo-quantity', 'SELECT MEDIAN(quantity) AS v FROM sales', '1.0', 'r_MEDIAN.html'),
  rows(
    'median.demo-grouped',
    'SELECT region, MEDIAN(quantity) AS v FROM sales GROUP BY region ORDER BY region',
    [
      { region: 'AMER', v: '1.0' },
      { region: 'APAC', v: '1.0' },
      { region: 'EMEA', v: '1.0' },
    ],
    'r_MEDIAN.html',
  ),

  // Isolation holds through the functions: only the caller's rows.
  rows(
    'isolation.decode-tenant',
    "SELECT DECODE(tenant_id, 'acme', 'mine', 'other') AS v FROM sales GROUP BY 1",
    [{ v: 'mine' }],
    'r_DECODE_expression.html',
  ),
  rows(
    'isolation.nvl-tenant',
    "SELECT NVL(tenant_id, 'none') AS v FROM products GROUP BY 1",
    [{ v: 'globex' }],
    'r_NVL_function.html',
    'globex',
  ),
  {
    id: 'fn.isolation.schema-qualified-refused',
    sql: 'SELECT spectra_redshift.nvl(1, 2) AS v',
    embedded: { error: 'SQL_BLOCKED' },
    redshift: { error: 'SQL_BLOCKED' },
    source: 'docs/sql-dialect.md',
  },
];

/**
 * The Redshift text the Data API receives for some cases: the guard's rendering (PostgreSQL's
 * deparser: lower-case names, `::` casts), which Redshift reads the same way.
 */
const SENT: Record<string, string> = {
  'fn.getdate.whole-seconds': "SELECT getdate() = date_trunc('second', getdate()) AS v",
  'fn.nvl.common-type': 'SELECT nvl(NULL::int, 1.5) AS v',
  'fn.nvl2.column': "SELECT nvl2(category, 'categorised', 'none') AS v FROM products GROUP BY 1",
  'fn.decode.regions':
    "SELECT decode(region, 'AMER', 'Americas', 'EMEA', 'Europe', 'APAC', 'Asia Pacific') AS v FROM sales GROUP BY region ORDER BY 1",
  'fn.dateadd.month-end-leap': "SELECT dateadd('month', 1, '2024-01-31'::date) AS v",
  'fn.datediff.weeks-2009': "SELECT datediff('week', '2009-01-01', '2009-12-31') AS v",
  // The Redshift renderer writes the date part's full name, which Redshift reads the same.
  'fn.date_part.qtr': "SELECT date_part('quarter', '2024-05-17 13:45:12.345678'::timestamp) AS v",
  'fn.trunc.timestamp-doc': "SELECT trunc('2011-07-21 10:32:38.248109'::timestamp) AS v",
  'fn.add_months.doc': "SELECT add_months('2008-03-31', 1) AS v",
  'fn.months_between.doc': "SELECT months_between('1969-01-18', '1969-03-18') AS v",
  'fn.convert_timezone.est-pst': "SELECT convert_timezone('EST', 'PST', '20080305 12:25:29') AS v",
  'fn.strtol.hex': "SELECT strtol('abcd1234', 16) AS v",
  'fn.regexp_replace.doc-domain':
    "SELECT regexp_replace('DonecFri@example.com', '@.*[.](org|gov|com|edu|ca)$') AS v",
  'fn.json_extract_path_text.doc':
    'SELECT json_extract_path_text(\'{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}}\', \'f4\', \'f6\') AS v',
  'fn.is_valid_json.object': 'SELECT is_valid_json(\'{"a":2}\') AS v',
  'fn.listagg.regions-length':
    "SELECT len(listagg(region, ',')) AS v FROM ( SELECT DISTINCT region FROM sales ) AS r",
  'fn.median.demo-grouped': 'SELECT region, median(quantity) AS v FROM sales GROUP BY region ORDER BY region',
};

export const FUNCTION_CASES: ConformanceCase[] = CASES.map((c) =>
  SENT[c.id] !== undefined && !('error' in c.redshift) ? { ...c, redshift: { sent: SENT[c.id] } } : c,
);
