/**
 * Issue 16, defect 4: a quoted WITH query name (`WITH "select" AS …`, `WITH "Mixed" AS …`) was
 * refused because the deparser wrote it bare. Any identifier PostgreSQL accepts in double quotes —
 * keywords, mixed case, spaces, embedded `"`, unicode, `--`, `:name`, `$1` — must pass the guard in
 * every position a SELECT can name something, and the SQL it renders must parse back to the tree of
 * the tenant's statement.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultGuardPolicy, initSqlGuard, planQueryUncached } from '../../../src/sql/index.js';
import { parseSql } from '../../../src/sql/parser.js';

const policy = defaultGuardPolicy();

// biome-ignore format: a vocabulary reads better packed
const KEYWORDS = [
  // reserved
  'select', 'from', 'order', 'user', 'all', 'table', 'where', 'group', 'limit', 'with', 'window',
  'current_user', 'null', 'true', 'union', 'as', 'on', 'do', 'end', 'desc', 'lateral', 'array',
  // names of columns and types (col_name keywords)
  'int', 'integer', 'between', 'char', 'interval', 'timestamp', 'json', 'values', 'row', 'time',
  'varchar', 'numeric', 'boolean', 'precision', 'national', 'setof', 'trim', 'exists', 'none',
  // function and type names (type_func_name keywords)
  'left', 'right', 'join', 'natural', 'authorization', 'collation', 'like', 'ilike', 'is', 'over',
  // unreserved, and plain words
  'name', 'text', 'type', 'data', 'first', 'x',
];

/** Characters and character runs that make quoting matter: to the lexer, to placeholders, to `String.replace`. */
// biome-ignore format: a vocabulary reads better packed
const PIECES = ['a', 'B', ' ', '"', '""', "'", '-', '--', '/*', '*/', ';', ':x', '$1', '$&', '\\', '.', '(', '\n', 'é', 'Ü', 'ß', '名', '😀'];

/** What the guard refuses on purpose whatever the quoting (system relations, catalog look-up types). */
const REFUSED_BY_RULE = /^(pg_|stl_|stv_|svl_|svv_|svcs_|sys_|stcs_|stll_|information_schema$|reg)/i;

/** Identifiers that need quoting for every reason PostgreSQL has, and some that do not. */
const identifier: fc.Arbitrary<string> = fc
  .oneof(
    fc.mixedCase(fc.constantFrom(...KEYWORDS)),
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9_ ]{0,14}$/),
    fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
  )
  // PostgreSQL truncates names to 63 bytes (with a notice); a NUL cannot be in SQL text at all.
  .filter((id) => !id.includes('\0') && Buffer.byteLength(id) <= 63 && !REFUSED_BY_RULE.test(id));

const quote = (id: string) => `"${id.replaceAll('"', '""')}"`;

/** Every place a SELECT names something, each filled with the one identifier. */
const POSITIONS: Record<string, (q: string) => string> = {
  'WITH query name': (q) => `WITH ${q} AS (SELECT 1 AS v) SELECT v FROM ${q}`,
  'WITH RECURSIVE query name': (q) =>
    `WITH RECURSIVE ${q}(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM ${q} WHERE n < 3) SELECT n FROM ${q}`,
  'MATERIALIZED WITH query': (q) => `WITH ${q} AS MATERIALIZED (SELECT 1 AS v) SELECT v FROM ${q}`,
  'WITH column list': (q) => `WITH c(${q}, w) AS (SELECT 1, 2) SELECT ${q}, c.${q} FROM c`,
  'table alias': (q) => `SELECT ${q}.v FROM sales AS ${q}`,
  'table alias column list': (q) => `SELECT ${q} FROM sales AS s(${q})`,
  'subquery alias': (q) => `SELECT ${q}.${q} FROM (SELECT 1 AS ${q}) AS ${q}`,
  'VALUES alias': (q) => `SELECT * FROM (VALUES (1)) AS ${q}(${q})`,
  'column alias': (q) => `SELECT 1 AS ${q}, region ${q} FROM sales`,
  'column reference': (q) => `SELECT ${q}, sales.${q}, ${q}.${q} FROM sales, ${q}`,
  'relation.*': (q) => `SELECT ${q}.*, count(${q}.*) OVER () FROM sales AS ${q}`,
  'schema-qualified relation': (q) => `SELECT * FROM public.${q}`,
  'JOIN alias': (q) => `SELECT * FROM (sales AS a JOIN customers AS b ON true) AS ${q}(${q})`,
  'JOIN … USING alias': (q) => `SELECT ${q}.${q} FROM sales AS a JOIN customers AS b USING (${q}) AS ${q}`,
  'named window': (q) => `SELECT rank() OVER ${q} FROM sales WINDOW ${q} AS (ORDER BY amount)`,
  'window reference': (q) =>
    `SELECT sum(amount) OVER (${q} ORDER BY amount) FROM sales WINDOW ${q} AS (PARTITION BY region)`,
  'function argument name': (q) => `SELECT make_interval(${q} => 1, days := 2)`,
  'function in FROM alias': (q) => `SELECT ${q} FROM generate_series(1, 2) AS ${q}(${q})`,
  'column definition list': (q) => `SELECT * FROM generate_series(1, 2) AS ${q}(${q} int)`,
  'WITH ORDINALITY alias': (q) => `SELECT * FROM unnest(ARRAY[1]) WITH ORDINALITY AS ${q}(a, ${q})`,
  'field of a composite': (q) => `SELECT (s).${q}, (s.c).${q} FROM sales AS s`,
  'type name': (q) => `SELECT CAST(NULL AS ${q}), CAST(NULL AS ${q}[]), CAST(NULL AS public.${q})`,
  'COLLATE name': (q) => `SELECT region COLLATE ${q} FROM sales`,
  'ORDER / GROUP BY / DISTINCT ON': (q) =>
    `SELECT DISTINCT ON (${q}) ${q} FROM sales GROUP BY ${q} HAVING count(${q}) > 1 ORDER BY ${q} DESC`,
  'set operation': (q) => `SELECT ${q} FROM sales UNION ALL SELECT ${q} FROM customers`,
  'SEARCH and CYCLE columns': (q) =>
    `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SEARCH DEPTH FIRST BY n SET ${q} CYCLE n SET c USING p SELECT * FROM r`,
};

/** A parse tree without source positions, which legitimately differ between two spellings. */
function shape(sql: string): unknown {
  return JSON.parse(JSON.stringify(parseSql(sql).stmts), (key, value) =>
    key === 'location' || key === 'stmt_len' || key === 'stmt_location' ? undefined : value,
  );
}

beforeAll(() => initSqlGuard());

describe('quoted identifiers pass the guard in every position', () => {
  it("the issue's statements are accepted and keep their names", () => {
    const cases: Array<[string, RegExp]> = [
      ['WITH "select" AS (SELECT 1 AS "from") SELECT "from" FROM "select"', /^WITH "select" AS/],
      ['WITH "Mixed" AS (SELECT 1 AS x) SELECT x FROM "Mixed"', /^WITH "Mixed" AS/],
      ['WITH "order" AS (SELECT 1 AS x) SELECT x FROM "order"', /^WITH "order" AS/],
      ['WITH "user" AS (SELECT 1 AS x) SELECT x FROM "user"', /^WITH "user" AS/],
    ];
    for (const [sql, rendered] of cases) {
      const plan = planQueryUncached({ sql, rowCap: 100 }, policy);
      expect(plan.sql, sql).toMatch(rendered);
      expect(plan.relations, sql).toEqual([]);
    }
  });

  for (const [position, statement] of Object.entries(POSITIONS)) {
    it(`${position}: accepted, and the SQL sent parses back to the same tree`, () => {
      fc.assert(
        fc.property(identifier, (id) => {
          const sql = statement(quote(id));
          const plan = planQueryUncached({ sql }, policy);
          expect(shape(plan.sql)).toEqual(shape(sql));
        }),
        { numRuns: 150 },
      );
    });
  }

  it('they are accepted with a row cap too (the LIMIT rewrite re-renders the statement)', () => {
    fc.assert(
      fc.property(identifier, fc.constantFrom(...Object.values(POSITIONS)), (id, statement) => {
        expect(planQueryUncached({ sql: statement(quote(id)), rowCap: 10 }, policy).returnLimit).toBe(10);
      }),
      { numRuns: 300 },
    );
  });
});
