/**
 * The Data API adapter's import checks done in TypeScript (value-checks.ts, checkRecord) and the
 * statements each operation sends (importStatements): pure code, no warehouse.
 */
import { describe, expect, it } from 'vitest';
import type { CopyInRequest, TableColumn, TableDescription } from '../../../src/warehouse/port.js';
import { sqlTypeOf } from '../../../src/warehouse/redshift-data/catalog.js';
import {
  checkRecord,
  importStatements,
  planImport,
} from '../../../src/warehouse/redshift-data/copy-import.js';
import { valueCheck } from '../../../src/warehouse/redshift-data/value-checks.js';

const ok = (type: string, ...values: string[]) => {
  const check = valueCheck(type)!;
  for (const v of values) expect(check(v), `${type} ${JSON.stringify(v)}`).toBeNull();
};
const bad = (type: string, ...values: string[]) => {
  const check = valueCheck(type)!;
  for (const v of values) expect(check(v), `${type} ${JSON.stringify(v)}`).not.toBeNull();
};

describe('value checks per type', () => {
  it('integers: syntax and the range of each width', () => {
    ok('SMALLINT', '-32768', '32767', '+5', '007');
    bad('SMALLINT', '32768', '-32769', '', ' 1', '1.0', '1e3', 'x');
    ok('INTEGER', '-2147483648', '2147483647');
    bad('INTEGER', '2147483648', '-2147483649');
    ok('BIGINT', '-9223372036854775808', '9223372036854775807');
    bad('BIGINT', '9223372036854775808');
    expect(valueCheck('INTEGER')!('2147483648')).toBe('value "2147483648" is out of range for type integer');
  });

  it('DECIMAL(p,s): digits after rounding to the scale; unconstrained DECIMAL takes any number', () => {
    ok('DECIMAL(6,2)', '9999.99', '-9999.99', '9999.994', '0.005', '.5', '5.', '+1', '0009999.99');
    bad('DECIMAL(6,2)', '10000', '9999.995', '', '.', '1e2', 'NaN', '1,5');
    ok('DECIMAL(3,0)', '999', '999.4');
    bad('DECIMAL(3,0)', '999.5');
    ok('DECIMAL', '123456789012345678901234567890.123');
    bad('DECIMAL', 'abc');
  });

  it('REAL and DOUBLE PRECISION: decimal or exponent forms, infinities, NaN; REAL`s range', () => {
    ok('REAL', '1.5', '-1e10', '3.4e38', 'Infinity', '-inf', 'NaN', '.5');
    bad('REAL', '3.5e38', '', '1.2.3', '0x10');
    ok('DOUBLE PRECISION', '1.7976931348623157e308', '4.9e-324');
    bad('DOUBLE PRECISION', '1e309');
  });

  it('BOOLEAN: the spellings both engines read', () => {
    ok('BOOLEAN', 't', 'true', 'TRUE', 'y', 'yes', '1', 'f', 'false', 'n', 'no', '0');
    bad('BOOLEAN', '', 'on', 'off', '2', 'maybe');
  });

  it('TIME and TIMETZ: clock times up to 24:00:00, a zone only where the type keeps one', () => {
    ok('TIME', '00:00', '23:59:59', '12:30:00.123456', '24:00:00');
    bad('TIME', '24:00:01', '12:60', '12:30:61', '12:30:00.1234567', '12:30+02', '1230', 'noon', '');
    ok('TIMETZ', '03:04:05+05:30', '03:04:05Z', '03:04:05-08', '23:59:59.5+0100');
    bad('TIMETZ', '03:04:05+16:00', '03:04:05+05:61', '25:00+00');
    expect(valueCheck('TIME')!('12:30+02')).toBe(
      'invalid input syntax for type time without time zone: "12:30+02"',
    );
  });

  it('UUID: the canonical 8-4-4-4-12 hex form, either case', () => {
    ok('UUID', '63ea00d9-0ef7-4c5b-ae54-ef152eda897e', '63EA00D9-0EF7-4C5B-AE54-EF152EDA897E');
    bad('UUID', '63ea00d90ef74c5bae54ef152eda897e', '{63ea00d9-0ef7-4c5b-ae54-ef152eda897e}', 'x', '');
  });

  it('DATE, TIMESTAMP, TIMESTAMPTZ: ISO 8601 with real calendar dates and clock times', () => {
    ok('DATE', '2024-02-29', '2000-02-29', '0001-01-01', '9999-12-31');
    bad('DATE', '2023-02-29', '1900-02-29', '2024-13-01', '2024-04-31', '24-01-01', '2024/01/01', '');
    ok('TIMESTAMP', '2024-01-31', '2024-01-31 12:30', '2024-01-31T23:59:59.123456');
    bad('TIMESTAMP', '2024-01-31 24:00:00', '2024-01-31 12:60', '2024-01-31 12:30:00.1234567', 'now');
    ok(
      'TIMESTAMPTZ',
      '2024-01-31T12:30:00Z',
      '2024-01-31 12:30:00+02:00',
      '2024-01-31 12:30:00-0530',
      '2024-01-31 12:30+02',
    );
    bad('TIMESTAMPTZ', '2024-01-31 12:30:00+16:00', '2024-01-31 12:30:00 PST');
  });

  it('VARCHAR(n) and CHAR(n) count bytes; CHAR holds single-byte characters; NULL differs from ""', () => {
    ok('VARCHAR(3)', '', 'abc', 'é');
    bad('VARCHAR(3)', 'abcd', 'éé', '€€');
    expect(valueCheck('VARCHAR(3)')!('éé')).toBe('value too long for type character varying(3) (4 bytes)');
    ok('VARCHAR', 'x'.repeat(65_535));
    bad('VARCHAR', 'x'.repeat(65_536), 'a\u0000b');
    ok('CHAR(2)', '', 'ab');
    bad('CHAR(2)', 'abc', 'é');
    const s = (v: string | null): (string | null)[] => ['1', v];
    const plan = planImport(
      table([col('id', 'integer', 'INTEGER', true), col('v', 'text', 'VARCHAR', true)]),
      req('insert', ['id', 'v']),
      'u',
    );
    expect(checkRecord(plan, s(''))).toBeNull();
    expect(checkRecord(plan, s(null))).toBe('v: null value violates the NOT NULL constraint');
  });

  it('SUPER: any JSON document', () => {
    ok('SUPER', '{"a":[1,2]}', '"s"', '1', 'null', ' [true] ');
    bad('SUPER', '{bad', '', "{'a':1}");
  });

  it('types without a rule are left to the warehouse`s cast', () => {
    for (const t of ['INTERVAL', 'VARBYTE', 'INTEGER[]']) expect(valueCheck(t), t).toBeNull();
  });
});

function col(name: string, sqlType: string, typeName: string, notNull = false): TableColumn {
  return { name, sqlType, typeName, notNull, hasDefault: false, generated: false };
}
function table(columns: TableColumn[], uniqueKeys: string[][] = [['tenant_id', 'id']]): TableDescription {
  return {
    schema: 'public',
    name: 'people',
    columns: [col('tenant_id', 'text', 'VARCHAR', true), ...columns],
    uniqueKeys,
    privileges: { select: true, insert: true, update: true, delete: true },
    tenantColumn: 'tenant_id',
  };
}
function req(operation: CopyInRequest['operation'], columns: string[]): CopyInRequest {
  return {
    object: 'people',
    operation,
    columns,
    externalId: operation === 'insert' ? null : 'id',
    tenantId: 'acme',
    delimiter: ',',
  };
}

const PEOPLE = table([
  col('id', 'integer', 'INTEGER', true),
  col('name', 'character varying(12)', 'VARCHAR(12)'),
  col('score', 'numeric(6,2)', 'DECIMAL(6,2)'),
]);
const S3 = {
  bucket: 'spectra-bucket',
  key: 'results/acme/j1/copy-x/records.csv.gz',
  iamRole: 'arn:aws:iam::123456789012:role/r',
};

describe('checkRecord', () => {
  it('checks the tenant first, then a missing external id, then types and NOT NULL', () => {
    const plan = planImport(PEOPLE, req('update', ['id', 'name', 'tenant_id']), 'u');
    expect(checkRecord(plan, ['x', 'n', 'globex'])).toBe(
      'tenant_id: globex is not the tenant of this credential',
    );
    expect(checkRecord(plan, [null, 'n', null])).toBe('id: the external id is missing');
    expect(checkRecord(plan, ['x', 'n', 'acme'])).toBe('id: invalid input syntax for type integer: "x"');
    expect(checkRecord(plan, ['1', 'n', null])).toBeNull();
  });

  it('a delete checks only the key', () => {
    const plan = planImport(PEOPLE, req('delete', ['id', 'score']), 'u');
    expect(checkRecord(plan, ['1', 'not a number'])).toBeNull();
    expect(checkRecord(plan, ['1.5', null])).toBe('id: invalid input syntax for type integer: "1.5"');
  });
});

describe('the statements of each operation', () => {
  const build = (op: CopyInRequest['operation'], columns: string[]) =>
    importStatements(planImport(PEOPLE, req(op, columns), 'u'), S3, 'spectra_stage_1');
  const stage = [
    'CREATE TEMP TABLE "spectra_stage_1" (_line BIGINT, c1 VARCHAR(65535), c2 VARCHAR(65535))',
    `COPY "spectra_stage_1" ("_line", "c1", "c2") FROM 's3://spectra-bucket/results/acme/j1/copy-x/records.csv.gz' IAM_ROLE 'arn:aws:iam::123456789012:role/r' FORMAT AS CSV GZIP`,
  ];

  it('insert: existing keys are found, removed from staging, the rest inserted with the caller`s tenant', () => {
    const s = build('insert', ['id', 'name']);
    expect(s.stage).toEqual(stage);
    const exists = `EXISTS (SELECT 1 FROM "public"."people" t WHERE t."tenant_id" = 'acme' AND t."id" = CAST(s.c1 AS integer))`;
    expect(s.validate).toBe(
      `SELECT s._line, CASE WHEN ${exists} THEN 'a row with this id already exists' END, c1, c2 FROM "spectra_stage_1" s WHERE ${exists} ORDER BY s._line`,
    );
    expect(s.apply).toEqual([
      `DELETE FROM "spectra_stage_1" s WHERE ${exists}`,
      `INSERT INTO "public"."people" ("id", "name", "tenant_id") SELECT CAST(s.c1 AS integer), s.c2, 'acme' FROM "spectra_stage_1" s`,
    ]);
  });

  it('update: missing keys reported, then UPDATE … FROM on key and tenant', () => {
    const s = build('update', ['id', 'name']);
    const match = `t."tenant_id" = 'acme' AND t."id" = CAST(s.c1 AS integer)`;
    expect(s.validate).toBe(
      `SELECT s._line, 'no row with id ' || s.c1, c1, c2 FROM "spectra_stage_1" s WHERE NOT EXISTS (SELECT 1 FROM "public"."people" t WHERE ${match}) ORDER BY s._line`,
    );
    expect(s.apply).toEqual([
      `UPDATE "public"."people" AS t SET "name" = s.c2 FROM "spectra_stage_1" s WHERE ${match}`,
    ]);
  });

  it('upsert: one MERGE, no validation batch', () => {
    const s = build('upsert', ['id', 'name']);
    expect(s.validate).toBeNull();
    expect(s.apply).toEqual([
      `MERGE INTO "public"."people" AS t USING "spectra_stage_1" s ON t."tenant_id" = 'acme' AND t."id" = CAST(s.c1 AS integer) WHEN MATCHED THEN UPDATE SET "name" = s.c2 WHEN NOT MATCHED THEN INSERT ("id", "name", "tenant_id") VALUES (CAST(s.c1 AS integer), s.c2, 'acme')`,
    ]);
  });

  it('delete: missing keys reported, then DELETE … USING', () => {
    const s = build('delete', ['id', 'name']);
    expect(s.validate).toMatch(/WHERE NOT EXISTS/);
    expect(s.apply).toEqual([
      `DELETE FROM "public"."people" AS t USING "spectra_stage_1" s WHERE t."tenant_id" = 'acme' AND t."id" = CAST(s.c1 AS integer)`,
    ]);
  });

  it('a staged tenant column defaults to the caller`s tenant; SUPER values go through JSON_PARSE', () => {
    const t = table([col('id', 'integer', 'INTEGER', true), col('doc', 'super', 'SUPER')]);
    const s = importStatements(planImport(t, req('insert', ['id', 'doc', 'tenant_id']), 'u'), S3, 'st');
    expect(s.apply.at(-1)).toBe(
      `INSERT INTO "public"."people" ("id", "doc", "tenant_id") SELECT CAST(s.c1 AS integer), JSON_PARSE(s.c2), COALESCE(s.c3, 'acme') FROM "st" s`,
    );
  });
});

describe('sqlTypeOf', () => {
  it('spells information_schema types as format_type does', () => {
    expect(sqlTypeOf('character varying', 'varchar', 40, null, null, null)).toBe('character varying(40)');
    expect(sqlTypeOf('character varying', 'varchar', null, null, null, null)).toBe('character varying');
    expect(sqlTypeOf('numeric', 'numeric', null, 12, 2, null)).toBe('numeric(12,2)');
    expect(sqlTypeOf('timestamp with time zone', 'timestamptz', null, null, null, 6)).toBe(
      'timestamp with time zone',
    );
    expect(sqlTypeOf('timestamp without time zone', 'timestamp', null, null, null, 3)).toBe(
      'timestamp(3) without time zone',
    );
    expect(sqlTypeOf('ARRAY', '_int4', null, null, null, null)).toBe('integer[]');
    expect(sqlTypeOf('USER-DEFINED', 'super', null, null, null, null)).toBe('super');
  });
});
