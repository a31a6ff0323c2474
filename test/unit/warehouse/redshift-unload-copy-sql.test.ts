/**
 * The SQL text of the Data API adapter's bulk paths (UNLOAD, COPY, staging and apply statements),
 * and proof that no value, query or name can break out of its quotes: generated literals are read
 * back with a reference reader of Redshift's literal rules (`''` and backslash escapes) and must
 * give back exactly the input, ending exactly where the generator ended it.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import { initSqlGuard } from '../../../src/sql/index.js';
import {
  applyStatement,
  copyStatement,
  createStagingTable,
  iamRoleLiteral,
  inlineParameters,
  quoteIdentifier,
  redshiftStringLiteral,
  s3UrlLiteral,
  unloadStatement,
} from '../../../src/warehouse/redshift-data/unload-copy-sql.js';
import { unloadQuery } from '../../../src/warehouse/redshift-data/unload-export.js';
// The reference reader of Redshift's literal rules; the Data API fake reads UNLOAD with it too.
import { readRedshiftLiteral } from '../../fakes/redshift-data-bulk.js';

const ROLE = 'arn:aws:iam::123456789012:role/spectra-redshift-s3';

function readIdentifier(sql: string, start: number): { value: string; end: number } {
  if (sql[start] !== '"') throw new Error(`no identifier at ${start}`);
  let value = '';
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === '"') {
      if (sql[i + 1] === '"') {
        value += '"';
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    value += sql[i++];
  }
  throw new Error('unterminated identifier');
}

/** Strings rich in what breaks quoting: quotes, backslashes, escape letters, newlines, `$n`, unicode. */
const hostile = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "'",
        "''",
        '\\',
        "\\'",
        '\\\\',
        '"',
        '\n',
        '\r',
        '\t',
        '$1',
        ';',
        '--',
        '/*',
        ')',
        'x41',
        '101',
        'n',
        'é',
        '😀',
      ),
      fc.string({ unit: 'grapheme', maxLength: 4 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join('').replaceAll('\u0000', ''));

beforeAll(async () => {
  await initSqlGuard();
});

describe('Redshift string literals', () => {
  it('read back as exactly the input and end where the generator ended them', () => {
    fc.assert(
      fc.property(hostile, fc.string(), (value, tail) => {
        const literal = redshiftStringLiteral(value);
        // What follows a literal in generated SQL is never a quote (`'a''b'` is one literal).
        const sql = `SELECT ${literal} ${tail}`;
        expect(readRedshiftLiteral(sql, 7)).toEqual({ value, end: 7 + literal.length });
      }),
      { numRuns: 2000 },
    );
  });

  it("escape backslashes: doubling quotes alone would let `\\'` end the literal early", () => {
    const value = "\\'; DROP TABLE sales; --";
    const quotesOnly = `'${value.replaceAll("'", "''")}'`;
    expect(readRedshiftLiteral(quotesOnly, 0).end).toBeLessThan(quotesOnly.length);
    expect(redshiftStringLiteral(value)).toBe("'\\\\''; DROP TABLE sales; --'");
    expect(readRedshiftLiteral(redshiftStringLiteral(value), 0).value).toBe(value);
  });

  it('refuse NUL', () => {
    expect(() => redshiftStringLiteral('a\u0000b')).toThrow(ApiError);
  });
});

describe('identifiers', () => {
  it('double quotes and read back exactly', () => {
    fc.assert(
      fc.property(
        hostile.filter((s) => s.length > 0 && Buffer.byteLength(s) <= 127),
        (name) => {
          const quoted = quoteIdentifier(name);
          expect(readIdentifier(quoted, 0)).toEqual({ value: name, end: quoted.length });
        },
      ),
      { numRuns: 1000 },
    );
    expect(quoteIdentifier('a"b')).toBe('"a""b"');
  });

  it('refuse empty, NUL and over-long names', () => {
    expect(() => quoteIdentifier('')).toThrow(ApiError);
    expect(() => quoteIdentifier('a\u0000')).toThrow(ApiError);
    expect(() => quoteIdentifier('x'.repeat(128))).toThrow(ApiError);
  });
});

describe('S3 paths and IAM roles', () => {
  it('accept the staging prefixes the adapter builds', () => {
    expect(s3UrlLiteral('spectra-results', 'results/acme/unload-0f3e/')).toBe(
      "'s3://spectra-results/results/acme/unload-0f3e/'",
    );
  });

  it.each([
    ["results/a'b/"],
    ['results/a\\b/'],
    ['results/a b/'],
    ['results/../other/'],
    ['results/./x/'],
    ['results//x/'],
    ['/results/'],
    ['results/é/'],
    ['results/a\u0000/'],
    ['results/a\n/'],
    [''],
  ])('refuse the key %j', (key) => {
    expect(() => s3UrlLiteral('spectra-results', key)).toThrow(ApiError);
  });

  it('refuse keys with any character outside the safe set', () => {
    fc.assert(
      fc.property(
        hostile.filter((s) => /[^A-Za-z0-9!_.*()/-]/.test(s)),
        (segment) => {
          expect(() => s3UrlLiteral('bucket-1', `results/${segment}/`)).toThrow(ApiError);
        },
      ),
    );
  });

  it.each([["bucket'"], ['Bucket'], ['b'], ['a..b'], ['bucket/x'], ['-bucket']])(
    'refuse the bucket %j',
    (b) => {
      expect(() => s3UrlLiteral(b, 'k/')).toThrow(ApiError);
    },
  );

  it('take a role ARN or a chain of them, nothing else', () => {
    expect(iamRoleLiteral(ROLE)).toBe(`'${ROLE}'`);
    expect(iamRoleLiteral(`${ROLE},arn:aws:iam::210987654321:role/other`)).toContain(',');
    for (const bad of ["arn:aws:iam::123456789012:role/x'", 'arn:aws:iam::1234:role/x', `${ROLE} `, '']) {
      expect(() => iamRoleLiteral(bad)).toThrow(ApiError);
    }
  });
});

describe('inlining bind parameters', () => {
  it('replaces $n with literals and leaves $1 in strings, comments and quoted names alone', () => {
    const sql = `SELECT $1 AS a, '$1' AS b, "$1" AS c, $2 + 1 AS d /* $1 */ FROM t WHERE x = $3 OR y = $1`;
    expect(inlineParameters(sql, ["it's", -5, null])).toBe(
      `SELECT 'it''s' AS a, '$1' AS b, "$1" AS c, (-5) + 1 AS d /* $1 */ FROM t WHERE x = NULL OR y = 'it''s'`,
    );
  });

  it('never glues a negative number into a comment or a literal onto a word', () => {
    expect(inlineParameters('SELECT 5-$1', [-1])).toBe('SELECT 5-(-1)');
    expect(inlineParameters('SELECT 1 FROM t WHERE a=$1', [true])).toBe('SELECT 1 FROM t WHERE a=TRUE');
  });

  it('refuses a count mismatch and values it cannot write', () => {
    expect(() => inlineParameters('SELECT $2', [1])).toThrow(ApiError);
    expect(() => inlineParameters('SELECT $1', [1, 2])).toThrow(ApiError);
    expect(() => inlineParameters('SELECT $1', [{}])).toThrow(ApiError);
    expect(() => inlineParameters('SELECT $1', [Number.NaN])).toThrow(ApiError);
  });
});

describe('UNLOAD', () => {
  it('writes every option in Redshift syntax', () => {
    expect(
      unloadStatement({
        query: "SELECT * FROM sales WHERE region = 'EU'",
        bucket: 'spectra-results',
        keyPrefix: 'results/acme/unload-1/',
        iamRole: ROLE,
        format: 'CSV',
        header: true,
        delimiter: '\t',
        gzip: true,
        maxFileSizeMb: 100,
        manifest: 'verbose',
        parallel: false,
        allowOverwrite: true,
      }),
    ).toBe(
      `UNLOAD ('SELECT * FROM sales WHERE region = ''EU''') TO 's3://spectra-results/results/acme/unload-1/' ` +
        `IAM_ROLE '${ROLE}' FORMAT AS CSV HEADER DELIMITER AS '\\t' GZIP MAXFILESIZE 100 MB MANIFEST VERBOSE ` +
        'PARALLEL OFF ALLOWOVERWRITE',
    );
    expect(
      unloadStatement({
        query: 'SELECT 1',
        bucket: 'b-1',
        keyPrefix: 'p/',
        iamRole: ROLE,
        format: 'PARQUET',
        manifest: true,
      }),
    ).toBe(`UNLOAD ('SELECT 1') TO 's3://b-1/p/' IAM_ROLE '${ROLE}' FORMAT AS PARQUET MANIFEST`);
  });

  it('refuses a MAXFILESIZE outside 5 MB … 6.2 GB and CSV options on Parquet', () => {
    const base = { query: 'SELECT 1', bucket: 'b-1', keyPrefix: 'p/', iamRole: ROLE } as const;
    expect(() => unloadStatement({ ...base, format: 'CSV', maxFileSizeMb: 4 })).toThrow(ApiError);
    expect(() => unloadStatement({ ...base, format: 'CSV', maxFileSizeMb: 6201 })).toThrow(ApiError);
    expect(() => unloadStatement({ ...base, format: 'CSV', maxFileSizeMb: 5.5 })).toThrow(ApiError);
    expect(() => unloadStatement({ ...base, format: 'PARQUET', gzip: true })).toThrow(ApiError);
  });

  it('quotes twice: reading the UNLOAD gives back the query, reading the query gives back each value', () => {
    fc.assert(
      fc.property(hostile, hostile, (a, b) => {
        const query = inlineParameters('SELECT $1 AS a, $2 AS b', [a, b]);
        const sql = unloadStatement({ query, bucket: 'b-1', keyPrefix: 'p/', iamRole: ROLE, format: 'CSV' });
        expect(sql.startsWith('UNLOAD (')).toBe(true);
        const outer = readRedshiftLiteral(sql, 'UNLOAD ('.length);
        expect(outer.value).toBe(query);
        expect(sql.slice(outer.end)).toBe(`) TO 's3://b-1/p/' IAM_ROLE '${ROLE}' FORMAT AS CSV`);
        const first = readRedshiftLiteral(query, 'SELECT '.length);
        expect(first.value).toBe(a);
        expect(query.slice(first.end, first.end + 7)).toBe(' AS a, ');
        const second = readRedshiftLiteral(query, first.end + ' AS a, '.length);
        expect(second.value).toBe(b);
        expect(query.slice(second.end)).toBe(' AS b');
      }),
      { numRuns: 500 },
    );
  });
});

describe('COPY and the staged apply', () => {
  it('COPY names the quoted table and columns, the S3 object and the CSV options', () => {
    expect(
      copyStatement({
        table: { name: 'stage "1"' },
        columns: ['id', 'Name'],
        bucket: 'spectra-results',
        key: 'uploads/acme/job-1/records.csv.gz',
        iamRole: ROLE,
        delimiter: '|',
        gzip: true,
        ignoreHeader: 1,
      }),
    ).toBe(
      `COPY "stage ""1""" ("id", "Name") FROM 's3://spectra-results/uploads/acme/job-1/records.csv.gz' ` +
        `IAM_ROLE '${ROLE}' FORMAT AS CSV DELIMITER AS '|' GZIP IGNOREHEADER 1`,
    );
  });

  it('a staging table copies the target columns, and each operation has its statement', () => {
    const spec = {
      target: { schema: 'public', name: 'customers' },
      staging: 'stage',
      columns: ['id', 'name'],
      key: 'id',
    };
    expect(createStagingTable('stage', spec.target, spec.columns)).toBe(
      'CREATE TEMP TABLE "stage" AS SELECT "id", "name" FROM "public"."customers" WHERE FALSE',
    );
    expect(applyStatement('insert', spec)).toBe(
      'INSERT INTO "public"."customers" ("id", "name") SELECT "id", "name" FROM "stage"',
    );
    expect(applyStatement('update', spec)).toBe(
      'UPDATE "public"."customers" SET "name" = s."name" FROM "stage" AS s WHERE "public"."customers"."id" = s."id"',
    );
    expect(applyStatement('delete', spec)).toBe(
      'DELETE FROM "public"."customers" USING "stage" AS s WHERE "public"."customers"."id" = s."id"',
    );
    expect(applyStatement('upsert', spec)).toBe(
      'MERGE INTO "public"."customers" USING "stage" AS s ON "public"."customers"."id" = s."id" ' +
        'WHEN MATCHED THEN UPDATE SET "name" = s."name" ' +
        'WHEN NOT MATCHED THEN INSERT ("id", "name") VALUES (s."id", s."name")',
    );
    expect(() => applyStatement('update', { ...spec, key: null })).toThrow(ApiError);
  });
});

describe('the query UNLOAD runs', () => {
  const cols = (...types: string[]) => types.map((type, i) => ({ name: `n${i}`, type }));

  it('is the statement itself when nothing needs rewriting', () => {
    expect(unloadQuery('SELECT a FROM t ORDER BY a', cols('INTEGER'))).toBe('SELECT a FROM t ORDER BY a');
  });

  it('writes booleans as true/false and moves a LIMIT into a subquery', () => {
    expect(unloadQuery('SELECT a, b FROM t', cols('INTEGER', 'BOOLEAN'))).toBe(
      "SELECT c1, CASE WHEN c2 THEN 'true' WHEN NOT c2 THEN 'false' END FROM (SELECT a, b FROM t) AS q(c1, c2)",
    );
    expect(unloadQuery('SELECT a, a FROM t LIMIT 10', cols('INTEGER', 'INTEGER'))).toBe(
      'SELECT c1, c2 FROM (SELECT a, a FROM t LIMIT 10) AS q(c1, c2)',
    );
  });
});
