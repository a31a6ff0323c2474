/**
 * docs/types.md through the API: one query covering every documented type, its type names and
 * its JSON values exactly as the page says, in the JSON envelope, NDJSON and CSV.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onAwsStack } from '../helpers/aws-stack.js';
import { startSpectra, type TestSpectra } from '../helpers/spectra.js';

/** Functional tests: rate limits are another suite's subject. */
const UNLIMITED = { SPECTRA_RATE_LIMIT_PER_MINUTE: '0' };

let spectra: TestSpectra;
beforeAll(async () => {
  spectra = await startSpectra(UNLIMITED);
});
afterAll(async () => {
  await spectra?.close();
});

/** column → [SQL expression, type name, JSON value], each row straight from docs/types.md. */
const ALL_CASES: Record<string, [string, string, unknown]> = {
  i2: ['(-32768)::int2', 'SMALLINT', -32768],
  i4: ['42::int4', 'INTEGER', 42],
  i8_safe: ['9007199254740991::int8', 'BIGINT', 9007199254740991],
  i8_unsafe: ['9007199254740993::int8', 'BIGINT', '9007199254740993'],
  i8_min: ['(-9223372036854775808)::int8', 'BIGINT', '-9223372036854775808'],
  num: ['1.50::numeric(12,2)', 'DECIMAL(12,2)', '1.50'],
  num_free: [
    '123456789012345678901234567890.123456789::numeric',
    'DECIMAL',
    '123456789012345678901234567890.123456789',
  ],
  num_nan: ["'NaN'::numeric", 'DECIMAL', 'NaN'],
  num_inf: ["'Infinity'::numeric", 'DECIMAL', 'Infinity'],
  f4: ['1.1::real', 'REAL', 1.1],
  f4_max: ['3.4028235e+38::real', 'REAL', 3.4028235e38],
  f4_nan: ["'NaN'::real", 'REAL', 'NaN'],
  f8: ['0.1::float8', 'DOUBLE PRECISION', 0.1],
  f8_inf: ["'Infinity'::float8", 'DOUBLE PRECISION', 'Infinity'],
  f8_ninf: ["'-Infinity'::float8", 'DOUBLE PRECISION', '-Infinity'],
  b_true: ['true', 'BOOLEAN', true],
  b_false: ['false', 'BOOLEAN', false],
  t: ["'text'::text", 'VARCHAR', 'text'],
  vc: ["'vc'::varchar(10)", 'VARCHAR(10)', 'vc'],
  vc_free: ["'v'::varchar", 'VARCHAR', 'v'],
  ch: ["'x'::char(5)", 'CHAR(5)', 'x    '],
  d: ["'2024-01-02'::date", 'DATE', '2024-01-02'],
  d_bc: ["'0044-03-15 BC'::date", 'DATE', '-0043-03-15'],
  d_inf: ["'infinity'::date", 'DATE', 'infinity'],
  ts: ["'2024-01-02 03:04:05.12'::timestamp", 'TIMESTAMP', '2024-01-02T03:04:05.12'],
  ts_big: ["'12345-01-01 00:00:00'::timestamp", 'TIMESTAMP', '12345-01-01T00:00:00'],
  tstz: ["'2024-01-02 03:04:05.5+00'::timestamptz", 'TIMESTAMPTZ', '2024-01-02T03:04:05.5Z'],
  tstz_offset: ["'2024-01-02 03:04:05+05:30'::timestamptz", 'TIMESTAMPTZ', '2024-01-01T21:34:05Z'],
  iv: ["'1 year 2 months 3 days 4 hours 5 minutes 6.5 seconds'::interval", 'INTERVAL', 'P1Y2M3DT4H5M6.5S'],
  iv_zero: ["'0'::interval", 'INTERVAL', 'PT0S'],
  iv_mixed: ["'1 month -1 second'::interval", 'INTERVAL', 'P1MT-1S'],
  j: [`'{"a": 1}'::json`, 'SUPER', { a: 1 }],
  j_str: [`'"s"'::json`, 'SUPER', 's'],
  jb: [`'{"id": 12345678901234567890, "n": 1.5}'::jsonb`, 'SUPER', { id: '12345678901234567890', n: 1.5 }],
  u: ["'63ea00d9-0ef7-4c5b-ae54-ef152eda897e'::uuid", 'UUID', '63ea00d9-0ef7-4c5b-ae54-ef152eda897e'],
  by: ["'\\x00ff10'::bytea", 'VARBYTE', 'AP8Q'],
  by_empty: ["'\\x'::bytea", 'VARBYTE', ''],
  arr: ['ARRAY[1, NULL, 3]', 'INTEGER[]', [1, null, 3]],
  arr2: [
    'ARRAY[[1, 2], [3, 4]]',
    'INTEGER[]',
    [
      [1, 2],
      [3, 4],
    ],
  ],
  arr_vc: ["ARRAY['a', 'NULL', NULL]::varchar(4)[]", 'VARCHAR(4)[]', ['a', 'NULL', null]],
  arr_ts: ["ARRAY['2024-01-02 03:04:05+00'::timestamptz]", 'TIMESTAMPTZ[]', ['2024-01-02T03:04:05Z']],
  arr_i8: ['ARRAY[9007199254740993::int8]', 'BIGINT[]', ['9007199254740993']],
  n_int: ['NULL::int', 'INTEGER', null],
  n_text: ['NULL::text', 'VARCHAR', null],
  n_json: ['NULL::jsonb', 'SUPER', null],
  n_num: ['NULL::numeric', 'DECIMAL', null],
};

/** json, jsonb, uuid, bytea and arrays: checked on the PostgreSQL stack only, as Redshift has none of them. */
const POSTGRES_ONLY = new Set([
  'j',
  'j_str',
  'jb',
  'u',
  'by',
  'by_empty',
  'arr',
  'arr2',
  'arr_vc',
  'arr_ts',
  'arr_i8',
  'n_json',
]);
const CASES = onAwsStack()
  ? Object.fromEntries(Object.entries(ALL_CASES).filter(([k]) => !POSTGRES_ONLY.has(k)))
  : ALL_CASES;

const SQL = `SELECT ${Object.entries(CASES)
  .map(([name, [expr]]) => `${expr} AS ${name}`)
  .join(', ')}`;

describe('JSON encoding of every documented type (docs/types.md)', () => {
  it('the JSON envelope carries the documented type names and values', async () => {
    const res = await spectra.query('acme', { sql: SQL });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const body = JSON.parse(text);
    expect(body.metadata.columns).toEqual(Object.keys(CASES));
    expect(
      Object.fromEntries(
        body.metadata.columns.map((c: string, i: number) => [c, body.metadata.column_types[i]]),
      ),
    ).toEqual(Object.fromEntries(Object.entries(CASES).map(([k, [, type]]) => [k, type])));
    expect(body.data).toHaveLength(1);
    expect(body.data[0]).toEqual(Object.fromEntries(Object.entries(CASES).map(([k, [, , v]]) => [k, v])));
    // Numbers that fit stay JSON numbers in the text itself; unsafe ones are strings of their exact digits.
    expect(text).toContain('"i8_safe":9007199254740991,');
    expect(text).toContain('"i8_unsafe":"9007199254740993"');
    expect(text).toContain('"f4":1.1,');
  });

  it('NDJSON carries the same values', async () => {
    const res = await spectra.query('acme', { sql: SQL }, { accept: 'application/x-ndjson' });
    const lines = (await res.text()).split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      Object.fromEntries(Object.entries(CASES).map(([k, [, , v]]) => [k, v])),
    ]);
  });

  it('CSV writes strings as is, numbers as JSON text, NULL empty, objects as JSON text', async () => {
    // The array and jsonb columns on the PostgreSQL stack only: Redshift has neither type.
    const objects = onAwsStack() ? '' : `, ARRAY[1, NULL] AS arr, '{"k": "v"}'::jsonb AS j`;
    const res = await spectra.query(
      'acme',
      {
        sql: `SELECT 9007199254740993::int8 AS big, 1.50::numeric(12,2) AS dec, 0.1::float8 AS f, NULL::int AS n, '2024-01-02 03:04:05.5+00'::timestamptz AS ts${objects}, 'x'::char(3) AS ch`,
      },
      { accept: 'text/csv' },
    );
    expect(await res.text()).toBe(
      objects
        ? 'big,dec,f,n,ts,arr,j,ch\r\n9007199254740993,1.50,0.1,,2024-01-02T03:04:05.5Z,"[1,null]","{""k"":""v""}",x  \r\n'
        : 'big,dec,f,n,ts,ch\r\n9007199254740993,1.50,0.1,,2024-01-02T03:04:05.5Z,x  \r\n',
    );
  });

  it('repeated column names get _2, _3 … in every keyed output', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT 1 AS a, 2 AS a, 3 AS a_2' });
    const body = JSON.parse(await res.text());
    expect(body.metadata.columns).toEqual(['a', 'a', 'a_2']);
    expect(body.data).toEqual([{ a: 1, a_3: 2, a_2: 3 }]);
  });
});
