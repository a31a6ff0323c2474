/**
 * The Redshift front end (issue 13): Redshift SELECT syntax is read with the PostgreSQL scanner and
 * parser, checked by the same guard, and rendered per warehouse; PostgreSQL-only SQL is refused for
 * Redshift and warned about on PostgreSQL.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiError, isApiError } from '../../../src/domain/errors.js';
import { defaultGuardPolicy, initSqlGuard, planQueryUncached, type SqlPlan } from '../../../src/sql/index.js';
import { SourceColumnsNeeded } from '../../../src/sql/plan.js';
import { relationKey, type SourceColumns } from '../../../src/sql/redshift-syntax.js';
import { attackCorpus } from './corpus.js';
import { expectFaithfulOutput } from './output-invariants.js';

const postgres = defaultGuardPolicy();
const redshift = defaultGuardPolicy({ target: 'redshift' });
const strictEmbedded = defaultGuardPolicy({ dialect: 'redshift' });

const plan = (sql: string, policy = postgres, rowCap: number | undefined = 100): SqlPlan => {
  const p = planQueryUncached({ sql, rowCap }, policy);
  expectFaithfulOutput(p, policy);
  return p;
};
const rejection = (sql: string, policy = postgres, sourceColumns?: SourceColumns): ApiError => {
  try {
    planQueryUncached({ sql, rowCap: 100, ...(sourceColumns ? { sourceColumns } : {}) }, policy);
  } catch (error) {
    if (isApiError(error)) return error;
    throw error;
  }
  throw new Error(`accepted: ${sql}`);
};

beforeAll(() => initSqlGuard());

describe('Redshift syntax, rendered per warehouse', () => {
  it.each([
    [
      'TOP n DISTINCT (Redshift order)',
      'SELECT TOP 100 DISTINCT tenant_id FROM sales',
      'SELECT DISTINCT tenant_id FROM sales LIMIT 100',
      'SELECT DISTINCT tenant_id FROM sales LIMIT 100',
    ],
    [
      'DISTINCT TOP n',
      'SELECT DISTINCT TOP 5 region FROM sales ORDER BY region',
      'SELECT DISTINCT region FROM sales ORDER BY region LIMIT 5',
      'SELECT DISTINCT region FROM sales ORDER BY region LIMIT 5',
    ],
    [
      'QUALIFY over a select-list alias',
      'SELECT region, amount, rank() OVER (PARTITION BY region ORDER BY amount DESC) AS r FROM sales QUALIFY r <= 2 ORDER BY region, r',
      'SELECT spectra_qualified.spectra_c1 AS region, spectra_qualified.spectra_c2 AS amount, spectra_qualified.spectra_c3 AS r FROM ( SELECT region AS spectra_c1, amount AS spectra_c2, rank() OVER (PARTITION BY region ORDER BY amount DESC) AS spectra_c3, rank() OVER (PARTITION BY region ORDER BY amount DESC) <= 2 AS spectra_qualify FROM sales ) AS spectra_qualified WHERE spectra_qualified.spectra_qualify ORDER BY region, r LIMIT 101',
      'SELECT region, amount, rank() OVER (PARTITION BY region ORDER BY amount DESC) AS r FROM sales QUALIFY r <= 2 ORDER BY region, r LIMIT 101',
    ],
    [
      'APPROXIMATE COUNT(DISTINCT …)',
      'SELECT APPROXIMATE COUNT(DISTINCT region) FROM sales',
      'SELECT count(DISTINCT region) FROM sales LIMIT 101',
      'SELECT APPROXIMATE count(DISTINCT region) FROM sales LIMIT 101',
    ],
    [
      'LISTAGG(DISTINCT …) WITHIN GROUP',
      "SELECT LISTAGG(DISTINCT region, ',') WITHIN GROUP (ORDER BY region) FROM sales",
      "SELECT string_agg(DISTINCT region::text, ',' ORDER BY region::text) FROM sales LIMIT 101",
      "SELECT listagg(DISTINCT region, ',') WITHIN GROUP (ORDER BY region) FROM sales LIMIT 101",
    ],
    [
      'bare date parts with abbreviations',
      "SELECT DATEADD(month, 1, '2024-01-31'::date) AS a, DATEDIFF(h, sold_at, sold_at) AS b, DATE_PART(qtr, sold_at) AS c FROM sales",
      "SELECT dateadd('month', 1, '2024-01-31'::date) AS a, datediff('hour', sold_at, sold_at) AS b, date_part('quarter', sold_at) AS c FROM sales LIMIT 101",
      "SELECT dateadd(month, 1, '2024-01-31'::date) AS a, datediff(hour, sold_at, sold_at) AS b, date_part(quarter, sold_at) AS c FROM sales LIMIT 101",
    ],
    [
      'CONVERT(type, expr), SYSDATE, NVL',
      'SELECT CONVERT(decimal(10,2), amount) AS d, SYSDATE, NVL(region, amount::text) AS n FROM sales',
      'SELECT CAST(amount AS numeric(10, 2)) AS d, LOCALTIMESTAMP AS sysdate, COALESCE(region, amount::text) AS n FROM sales LIMIT 101',
      'SELECT CAST(amount AS numeric(10, 2)) AS d, SYSDATE, nvl(region, amount::text) AS n FROM sales LIMIT 101',
    ],
  ])('%s', (_name, sql, onPostgres, onRedshift) => {
    expect(plan(sql, postgres).sql).toBe(onPostgres);
    expect(plan(sql, redshift).sql).toBe(onRedshift);
  });

  it('leaves \'TOP 5\' in a string, "qualify" as a quoted name and comments alone', () => {
    const sql = `SELECT 'TOP 5' AS s, "qualify", "top" /* QUALIFY TOP 3 */ FROM sales -- APPROXIMATE\n`;
    expect(plan(sql, postgres).sql).toBe("SELECT 'TOP 5' AS s, qualify, top FROM sales LIMIT 101");
    expect(plan(sql, redshift).sql).toBe(`SELECT 'TOP 5' AS s, "qualify", "top" FROM sales LIMIT 101`);
  });

  it('a column named qualify or top in a select list is a column', () => {
    expect(plan('SELECT top, qualify FROM t', redshift).sql).toBe('SELECT "top", "qualify" FROM t LIMIT 101');
  });

  it('TOP is the row count the cap works from', () => {
    expect(plan('SELECT TOP 5 region FROM sales', postgres, 3)).toMatchObject({ returnLimit: 3 });
    expect(plan('SELECT TOP 5 region FROM sales', postgres, 10)).toMatchObject({ returnLimit: 5 });
    expect(rejection('SELECT TOP 5 region FROM sales LIMIT 3').code).toBe('INVALID_SQL');
  });

  it('QUALIFY with SELECT * keeps the columns of the only FROM item', () => {
    const p = plan('SELECT * FROM sales QUALIFY row_number() OVER (PARTITION BY region ORDER BY amount) = 1');
    expect(p.sql).toContain('SELECT (spectra_qualified.spectra_c1).* FROM ( SELECT sales AS spectra_c1');
  });

  it('QUALIFY with SELECT * over several FROM items keeps the columns of each, in order', () => {
    const p = plan(
      'SELECT * FROM sales s JOIN customers c ON s.customer_id = c.customer_id, products QUALIFY row_number() OVER (PARTITION BY s.region ORDER BY s.sale_id) = 1',
    );
    expect(p.sql).toContain(
      'SELECT (spectra_qualified.spectra_c1_1).*, (spectra_qualified.spectra_c1_2).*, (spectra_qualified.spectra_c1_3).* FROM ( SELECT s AS spectra_c1_1, c AS spectra_c1_2, products AS spectra_c1_3,',
    );
  });

  it('QUALIFY with SELECT * over JOIN USING (merged columns) is refused on PostgreSQL, explained', () => {
    const error = rejection(
      'SELECT * FROM sales JOIN customers USING (customer_id) QUALIFY row_number() OVER (ORDER BY sale_id) = 1',
    );
    expect(error.code).toBe('UNSUPPORTED_SYNTAX');
    expect(error.details.rewrite).toContain('alias.*');
  });

  it('errors inside the new syntax point at the text the tenant sent', () => {
    const error = rejection('SELECT TOP 5 region FROM sales QUALIFY pg_sleep(1) IS NULL');
    expect(error.code).toBe('SQL_BLOCKED');
    expect(error.details).toMatchObject({ function: 'pg_sleep', position: 40, near: 'pg_sleep(1) IS NULL' });
  });

  it('the guard writes its own names: a tenant cannot use them', () => {
    expect(rejection('SELECT spectra_top(5), 1').code).toBe('INVALID_SQL');
    expect(rejection('SELECT 1 FROM t WINDOW spectra_qualify AS ()').code).toBe('INVALID_SQL');
  });
});

describe('PIVOT and UNPIVOT', () => {
  it.each([
    [
      'PIVOT over a subquery: implicit grouping columns, value and aggregate aliases',
      "SELECT * FROM (SELECT tenant_id, region, amount FROM sales) AS s PIVOT (SUM(amount) AS total FOR region IN ('EMEA' AS eu, 'APAC')) AS p",
      "SELECT * FROM ( SELECT tenant_id, sum(CASE WHEN region = 'EMEA' THEN amount END) AS eu_total, sum(CASE WHEN region = 'APAC' THEN amount END) AS apac_total FROM ( SELECT tenant_id, region, amount FROM sales ) AS s GROUP BY tenant_id ) AS p LIMIT 101",
      "SELECT * FROM ( SELECT tenant_id, region, amount FROM sales ) AS s PIVOT (sum(amount) AS total FOR region IN ('EMEA' AS eu, 'APAC')) AS p LIMIT 101",
    ],
    [
      'PIVOT COUNT(*) keeps every other column as a group',
      "SELECT * FROM (SELECT region, quantity FROM sales) PIVOT (COUNT(*) FOR region IN ('AMER'))",
      "SELECT * FROM ( SELECT quantity, count(CASE WHEN region = 'AMER' THEN 1 END) AS amer FROM ( SELECT region, quantity FROM sales ) GROUP BY quantity ) LIMIT 101",
      "SELECT * FROM ( SELECT region, quantity FROM sales ) PIVOT (count(*) FOR region IN ('AMER')) LIMIT 101",
    ],
    [
      'UNPIVOT (EXCLUDE NULLS by default)',
      'SELECT * FROM (SELECT sale_id, amount, quantity FROM sales) UNPIVOT (v FOR k IN (amount, quantity AS q))',
      "SELECT * FROM ( SELECT sale_id, spectra_unpivot.spectra_name AS k, spectra_unpivot.spectra_value AS v FROM ( SELECT sale_id, amount, quantity FROM sales ) CROSS JOIN LATERAL ( VALUES ('amount', amount), ('q', quantity) ) AS spectra_unpivot(spectra_name, spectra_value) WHERE spectra_unpivot.spectra_value IS NOT NULL ) LIMIT 101",
      'SELECT * FROM ( SELECT sale_id, amount, quantity FROM sales ) UNPIVOT (v FOR k IN (amount, quantity AS q)) LIMIT 101',
    ],
    [
      'UNPIVOT INCLUDE NULLS of a PIVOT',
      "SELECT * FROM (SELECT region, amount FROM sales) PIVOT (SUM(amount) FOR region IN ('EMEA', 'APAC')) UNPIVOT INCLUDE NULLS (total FOR region IN (emea, apac))",
      "SELECT * FROM ( SELECT spectra_unpivot.spectra_name AS region, spectra_unpivot.spectra_value AS total FROM ( SELECT sum(CASE WHEN region = 'EMEA' THEN amount END) AS emea, sum(CASE WHEN region = 'APAC' THEN amount END) AS apac FROM ( SELECT region, amount FROM sales ) ) CROSS JOIN LATERAL ( VALUES ('emea', emea), ('apac', apac) ) AS spectra_unpivot(spectra_name, spectra_value) ) LIMIT 101",
      "SELECT * FROM ( SELECT region, amount FROM sales ) PIVOT (sum(amount) FOR region IN ('EMEA', 'APAC')) UNPIVOT INCLUDE NULLS (total FOR region IN (emea, apac)) LIMIT 101",
    ],
  ])('%s', (_name, sql, onPostgres, onRedshift) => {
    expect(plan(sql).sql).toBe(onPostgres);
    expect(plan(sql, redshift).sql).toBe(onRedshift);
    expect(plan(sql).relations).toEqual(['sales']);
  });

  it.each([
    [
      "SELECT * FROM sales PIVOT (SUM(amount) FOR region IN ('EMEA'))",
      "SELECT * FROM sales PIVOT (sum(amount) FOR region IN ('EMEA')) LIMIT 101",
    ],
    [
      "SELECT * FROM (SELECT * FROM sales) PIVOT (SUM(amount) FOR region IN ('EMEA'))",
      "SELECT * FROM ( SELECT * FROM sales ) PIVOT (sum(amount) FOR region IN ('EMEA')) LIMIT 101",
    ],
    [
      'SELECT * FROM sales UNPIVOT (v FOR k IN (amount, quantity))',
      'SELECT * FROM sales UNPIVOT (v FOR k IN (amount, quantity)) LIMIT 101',
    ],
  ])(
    'over a table or SELECT * (%s) it runs on Redshift, which knows the implicit columns, and is refused for PostgreSQL',
    (sql, onRedshift) => {
      const planned = plan(sql, redshift);
      expect(planned.sql).toBe(onRedshift);
      expect(planned.relations).toEqual(['sales']);
      const error = rejection(sql, postgres);
      expect(error.code).toBe('UNSUPPORTED_SYNTAX');
      expect(error.message).toContain('runs on Redshift only');
      expect(String(error.details.rewrite)).toContain('SELECT col1, col2');
      expect(error.details.position).toBeTypeOf('number');
    },
  );

  const salesColumns = {
    [relationKey(['sales'])]: ['sale_id', 'tenant_id', 'region', 'product', 'amount', 'quantity'],
  };
  const withColumns = (sql: string, sourceColumns: Record<string, string[]> = salesColumns) => {
    const p = planQueryUncached({ sql, rowCap: 100, sourceColumns }, postgres);
    expectFaithfulOutput(p, postgres);
    return p;
  };

  it.each([
    [
      'PIVOT over a table groups by every other column',
      "SELECT * FROM sales PIVOT (SUM(amount) FOR region IN ('EMEA'))",
      "SELECT * FROM ( SELECT sale_id, tenant_id, product, quantity, sum(CASE WHEN region = 'EMEA' THEN amount END) AS emea FROM sales GROUP BY sale_id, tenant_id, product, quantity ) LIMIT 101",
    ],
    [
      'PIVOT over SELECT * of a table',
      "SELECT * FROM (SELECT * FROM sales) PIVOT (COUNT(*) FOR region IN ('EMEA'))",
      "SELECT * FROM ( SELECT sale_id, tenant_id, product, amount, quantity, count(CASE WHEN region = 'EMEA' THEN 1 END) AS emea FROM ( SELECT * FROM sales ) GROUP BY sale_id, tenant_id, product, amount, quantity ) LIMIT 101",
    ],
    [
      'UNPIVOT over a table keeps every column not in the IN list',
      'SELECT * FROM sales UNPIVOT (v FOR k IN (amount, quantity))',
      "SELECT * FROM ( SELECT sale_id, tenant_id, region, product, spectra_unpivot.spectra_name AS k, spectra_unpivot.spectra_value AS v FROM sales CROSS JOIN LATERAL ( VALUES ('amount', amount), ('quantity', quantity) ) AS spectra_unpivot(spectra_name, spectra_value) WHERE spectra_unpivot.spectra_value IS NOT NULL ) LIMIT 101",
    ],
    [
      'PIVOT over a CTE needs no catalog',
      "WITH s AS (SELECT region, amount FROM sales) SELECT * FROM s PIVOT (SUM(amount) FOR region IN ('EMEA'))",
      "WITH s AS (SELECT region, amount FROM sales) SELECT * FROM ( SELECT sum(CASE WHEN region = 'EMEA' THEN amount END) AS emea FROM s ) LIMIT 101",
    ],
  ])('%s, once the catalog gave the columns', (_name, sql, onPostgres) => {
    expect(withColumns(sql).sql).toBe(onPostgres);
  });

  it('over a CTE the Redshift target still sends the PIVOT as written', () => {
    expect(
      plan(
        "WITH s AS (SELECT region, product, amount FROM sales) SELECT * FROM s PIVOT (SUM(amount) FOR region IN ('EMEA'))",
        redshift,
      ).sql,
    ).toBe(
      "WITH s AS (SELECT region, product, amount FROM sales) SELECT * FROM s PIVOT (sum(amount) FOR region IN ('EMEA')) LIMIT 101",
    );
  });

  it('a rotation over a table asks for the columns of exactly the relations it reads', () => {
    const error = rejection(
      "SELECT * FROM (SELECT s.*, 1 AS one FROM public.sales s JOIN regions r ON true) PIVOT (SUM(amount) FOR region IN ('EMEA'))",
    );
    expect(error).toBeInstanceOf(SourceColumnsNeeded);
    expect((error as SourceColumnsNeeded).relations).toEqual([['public', 'sales']]);
    const join = rejection(
      "SELECT * FROM (SELECT * FROM sales JOIN regions USING (region)) PIVOT (SUM(amount) FOR region IN ('EMEA'))",
    );
    expect(join).not.toBeInstanceOf(SourceColumnsNeeded);
    expect(join.code).toBe('UNSUPPORTED_SYNTAX');
  });

  it('with the catalog columns the checks run again on the completed tree', () => {
    const sql = "SELECT * FROM sales PIVOT (SUM(pg_sleep(amount)) FOR region IN ('EMEA'))";
    expect(() => withColumns(sql)).toThrow(expect.objectContaining({ code: 'SQL_BLOCKED' }));
    expect(() =>
      withColumns("SELECT * FROM spectra_globex.sales PIVOT (SUM(amount) FOR region IN ('EMEA'))", {
        [relationKey(['spectra_globex', 'sales'])]: ['region', 'amount'],
      }),
    ).toThrow(expect.objectContaining({ code: 'SQL_BLOCKED' }));
  });

  it('over a table the checks still read everything the rotation names', () => {
    expect(
      rejection("SELECT * FROM spectra_globex.sales PIVOT (SUM(amount) FOR region IN ('EMEA'))", redshift)
        .code,
    ).toBe('SQL_BLOCKED');
    expect(
      rejection("SELECT * FROM sales PIVOT (SUM(pg_sleep(1)) FOR region IN ('EMEA'))", redshift).code,
    ).toBe('SQL_BLOCKED');
    expect(rejection('SELECT * FROM pg_authid UNPIVOT (v FOR k IN (rolname))', redshift).code).toBe(
      'SQL_BLOCKED',
    );
  });

  it('PIVOT IN takes constants, as on Redshift', () => {
    expect(
      rejection(
        "SELECT * FROM (SELECT region, amount FROM sales) PIVOT (SUM(amount) FOR region IN (lower('X')))",
      ).code,
    ).toBe('INVALID_SQL');
  });

  it('a column called pivot is still a column', () => {
    expect(plan('SELECT pivot FROM t').sql).toBe('SELECT pivot FROM t LIMIT 101');
    expect(plan('SELECT t.pivot FROM t pivot').relations).toEqual(['t']);
  });
});

describe('PostgreSQL-only SQL', () => {
  it.each([
    ['SELECT g FROM generate_series(1, 3) AS g', 'generate_series()'],
    ['SELECT ARRAY[1, 2] AS a', 'array constructor ARRAY[…]'],
    ['SELECT count(*) FILTER (WHERE amount > 1) FROM sales', 'aggregate FILTER (WHERE …)'],
    ["SELECT doc -> 'a' FROM t", 'operator ->'],
    ['SELECT DISTINCT ON (region) region, amount FROM sales', 'DISTINCT ON (…)'],
    ["SELECT '[1,3)'::int4range", 'type int4range'],
    ["SELECT '{}'::jsonb", 'type jsonb'],
    ['SELECT x::int[] FROM t', 'array type'],
    ["SELECT string_agg(region, ',') FROM sales", 'string_agg()'],
  ])('%s is UNSUPPORTED_ON_REDSHIFT for Redshift, a warning on PostgreSQL', (sql, construct) => {
    for (const policy of [redshift, strictEmbedded]) {
      const error = rejection(sql, policy);
      expect(error.code).toBe('UNSUPPORTED_ON_REDSHIFT');
      expect(error.status).toBe(400);
      expect(error.details.construct).toBe(construct);
      expect(String(error.details.alternative).length).toBeGreaterThan(0);
      expect(error.details.position).toEqual(expect.any(Number));
    }
    const p = plan(sql, postgres);
    expect(p.warnings.map((w) => w.construct)).toContain(construct);
  });

  it('Redshift SQL raises no warning', () => {
    expect(
      plan("SELECT TOP 3 LISTAGG(region, ',') WITHIN GROUP (ORDER BY region) FROM sales").warnings,
    ).toEqual([]);
  });

  it('the Data API target is strict whatever the dialect setting says', () => {
    expect(defaultGuardPolicy({ target: 'redshift', dialect: 'postgres' }).dialect).toBe('redshift');
  });
});

describe('SUPER navigation and unnesting (PartiQL)', () => {
  it('names resolve in the nearest SELECT that defines them', () => {
    const shadowed = plan(
      'SELECT o.id FROM t AS c, c.orders AS o WHERE EXISTS (SELECT 1 FROM sales AS o WHERE o.amount > 0)',
    ).sql;
    expect(shadowed).toContain("SELECT o -> 'id' AS id");
    expect(shadowed).toContain('FROM sales AS o WHERE o.amount > 0');
    expect(plan('SELECT (SELECT o.id) AS x FROM t AS c, c.orders AS o').sql).toContain("SELECT o -> 'id'");
    expect(plan('SELECT o.id FROM sales AS o UNION ALL SELECT o.id FROM t AS c, c.orders AS o').sql).toMatch(
      /^SELECT o\.id FROM sales AS o UNION ALL SELECT o -> 'id'/,
    );
  });

  const unnestRows = (array: string, element: string, at?: string) =>
    `LATERAL ( SELECT spectra_element.value AS ${element}${at === undefined ? '' : `, spectra_element.ordinality - 1 AS ${at}`} FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(${array}) = 'array' THEN ${array} END)${at === undefined ? '' : ' WITH ORDINALITY'} AS spectra_element ) AS ${element}`;

  it.each([
    [
      'a subscript and an attribute on a column',
      'SELECT c.orders[0].id FROM t AS c',
      "SELECT (c.orders -> 0) -> 'id' AS id FROM t AS c LIMIT 101",
      'SELECT c.orders[0].id FROM t AS c LIMIT 101',
    ],
    [
      'attributes past a FROM item alias (a four-part name)',
      'SELECT c.customer.address.city FROM t c',
      "SELECT (c.customer -> 'address') -> 'city' AS city FROM t AS c LIMIT 101",
      'SELECT c.customer.address.city FROM t AS c LIMIT 101',
    ],
    [
      'a cast to VARCHAR reads the string, not its JSON text',
      'SELECT c.orders[0].status::varchar AS s FROM t c',
      "SELECT CAST((c.orders -> 0) ->> 'status' AS varchar) AS s FROM t AS c LIMIT 101",
      'SELECT CAST(c.orders[0].status AS varchar) AS s FROM t AS c LIMIT 101',
    ],
    [
      'a comparison with a constant compares SUPER values',
      "SELECT 1 FROM t c WHERE c.orders[0].status = 'F' AND c.orders[0].qty > 2",
      "SELECT 1 FROM t AS c WHERE ((c.orders -> 0) -> 'status') = pg_catalog.to_jsonb('F'::text) AND ((c.orders -> 0) -> 'qty') > pg_catalog.to_jsonb(2) LIMIT 101",
      "SELECT 1 FROM t AS c WHERE c.orders[0].status = 'F' AND c.orders[0].qty > 2 LIMIT 101",
    ],
    [
      'a computed subscript',
      'SELECT c.orders[c.n - 1] AS last FROM t c',
      'SELECT c.orders -> CAST(c.n - 1 AS int) AS last FROM t AS c LIMIT 101',
      'SELECT c.orders[c.n - 1] AS last FROM t AS c LIMIT 101',
    ],
    [
      'unnesting an array of an earlier FROM item',
      'SELECT c.id, o.id AS order_id FROM t AS c, c.orders AS o',
      `SELECT c.id, o -> 'id' AS order_id FROM t AS c, ${unnestRows('c.orders', 'o')} LIMIT 101`,
      'SELECT c.id, o.id AS order_id FROM t AS c, c.orders AS o LIMIT 101',
    ],
    [
      'unnesting with AT: the index counts from 0',
      'SELECT i, o FROM t AS c, c.orders AS o AT i ORDER BY i',
      `SELECT i, o FROM t AS c, ${unnestRows('c.orders', 'o', 'i')} ORDER BY i LIMIT 101`,
      'SELECT i, o FROM t AS c, c.orders AS o AT i ORDER BY i LIMIT 101',
    ],
    [
      'unnesting an unnested element (nested arrays)',
      'SELECT li.sku FROM t c, c.orders o, o.items li',
      `SELECT li -> 'sku' AS sku FROM t AS c, ${unnestRows('c.orders', 'o')}, ${unnestRows("o -> 'items'", 'li')} LIMIT 101`,
      'SELECT li.sku FROM t AS c, c.orders AS o, o.items AS li LIMIT 101',
    ],
  ])('%s', (_name, sql, onPostgres, onRedshift) => {
    expect(plan(sql).sql).toBe(onPostgres);
    expect(plan(sql, redshift).sql).toBe(onRedshift);
    expect(plan(sql).warnings).toEqual([]);
  });

  it('an unnesting is no table: only the real FROM items are relations', () => {
    expect(plan('SELECT o FROM sales AS c, c.orders AS o AT i').relations).toEqual(['sales']);
    expect(plan('SELECT o FROM public.sales AS c, c.orders AS o', redshift).relations).toEqual([
      'public.sales',
    ]);
  });

  it.each([
    ['a schema that is no earlier alias', 'SELECT 1 FROM sales AS s, spectra_globex.sales AS o'],
    ['a reference to a later FROM item', 'SELECT 1 FROM c.orders AS o, sales AS c'],
    ['an alias spelled like a tenant schema', 'SELECT 1 FROM sales AS spectra_globex, spectra_globex.sales'],
    ['an alias spelled like a system schema', 'SELECT 1 FROM sales AS pg_catalog, pg_catalog.pg_authid'],
    ['an alias in another FROM list', 'SELECT 1 FROM sales AS c WHERE EXISTS (SELECT 1 FROM c.orders AS o)'],
    ['a JOIN, not a comma list item', 'SELECT 1 FROM sales AS c JOIN c.orders AS o ON TRUE'],
    [
      'a system table behind an unnesting',
      'SELECT 1 FROM sales AS c, c.orders AS o, pg_catalog.pg_user AS u',
    ],
  ])('%s stays a table reference and is refused', (_name, sql) => {
    for (const policy of [postgres, redshift]) {
      const error = rejection(sql, policy);
      expect(error.code).toBe('SQL_BLOCKED');
      expect(error.details.construct).toBe('relation');
    }
  });

  it('navigation cannot name a relation outside FROM: a three-part name stays a column reference', () => {
    const p = plan('SELECT spectra_globex.sales.amount[0] FROM sales');
    expect(p.relations).toEqual(['sales']);
    expect(p.sql).toBe('SELECT spectra_globex.sales.amount -> 0 AS amount FROM sales LIMIT 101');
  });

  it("PostgreSQL's parenthesised field access without a subscript stays composite field access", () => {
    expect(plan('SELECT (s).x, (s.c).x FROM sales AS s').sql).toBe(
      'SELECT (s).x, (s.c).x FROM sales AS s LIMIT 101',
    );
    expect(plan('SELECT (s.c).x FROM sales AS s', redshift).sql).toBe(
      'SELECT (s.c).x FROM sales AS s LIMIT 101',
    );
  });

  it('AT TIME ZONE, array slices and a column list are not unnesting', () => {
    expect(plan("SELECT x AT TIME ZONE 'UTC' FROM t").sql).toBe(
      "SELECT x AT TIME ZONE 'UTC' FROM t LIMIT 101",
    );
    expect(plan('SELECT c.x[1:2] FROM t c').sql).toBe('SELECT (c.x)[1:2] FROM t AS c LIMIT 101');
    expect(rejection('SELECT 1 FROM t c, c.orders AS o (x)').code).toBe('INVALID_SQL');
  });

  it('the names the PostgreSQL rendering writes are reserved', () => {
    expect(rejection('SELECT 1 FROM t c, c.orders AS o AT spectra_at').code).toBe('INVALID_SQL');
    expect(rejection('SELECT 1 FROM t AS spectra_element').code).toBe('INVALID_SQL');
  });
});

describe('attacks wrapped in Redshift syntax stay blocked', () => {
  const wrappers: Array<[string, (inner: string) => string]> = [
    ['TOP', (e) => `SELECT TOP 5 ${e} AS x FROM sales`],
    ['TOP DISTINCT', (e) => `SELECT TOP 5 DISTINCT ${e} AS x FROM sales`],
    ['QUALIFY', (e) => `SELECT region FROM sales QUALIFY (${e}) IS NOT NULL`],
    ['QUALIFY alias', (e) => `SELECT ${e} AS x FROM sales QUALIFY x IS NOT NULL`],
    ['APPROXIMATE', (e) => `SELECT APPROXIMATE COUNT(DISTINCT ${e}) FROM sales`],
    ['LISTAGG', (e) => `SELECT LISTAGG(DISTINCT (${e})::text, ',') WITHIN GROUP (ORDER BY 1) FROM sales`],
    ['DATEADD', (e) => `SELECT DATEADD(day, 1, (${e})::date) FROM sales`],
    ['CONVERT', (e) => `SELECT CONVERT(varchar, ${e}) FROM sales`],
    ['NVL', (e) => `SELECT NVL(${e}, SYSDATE) FROM sales`],
    [
      'PIVOT aggregate',
      (e) => `SELECT * FROM (SELECT region, amount FROM sales) PIVOT (MAX(${e}) FOR region IN ('EMEA'))`,
    ],
    [
      'PIVOT source',
      (e) =>
        `SELECT * FROM (SELECT region, ${e} AS x FROM sales) AS s PIVOT (MAX(x) FOR region IN ('EMEA')) AS p`,
    ],
    ['PIVOT over a table', (e) => `SELECT * FROM sales PIVOT (MAX(${e}) FOR region IN ('EMEA'))`],
    [
      'UNPIVOT over SELECT *',
      (e) => `SELECT * FROM (SELECT *, ${e} AS x FROM sales) UNPIVOT INCLUDE NULLS (v FOR n IN (x, amount))`,
    ],
    [
      'PIVOT over a CTE',
      (e) =>
        `WITH s AS (SELECT region, ${e} AS x FROM sales) SELECT * FROM s PIVOT (MAX(x) FOR region IN ('EMEA'))`,
    ],
    ['SUPER subscript', (e) => `SELECT c.orders[(${e})::int].id FROM sales AS c`],
    ['unnesting', (e) => `SELECT o.id FROM sales AS c, c.orders AS o AT i WHERE (${e}) IS NOT NULL`],
    ['unnested source', (e) => `SELECT o FROM (SELECT ${e} AS orders FROM sales) AS c, c.orders AS o`],
    [
      'UNPIVOT source',
      (e) =>
        `SELECT * FROM (SELECT region, ${e} AS x, 1 AS y FROM sales) UNPIVOT INCLUDE NULLS (v FOR n IN (x, y))`,
    ],
  ];
  const expressions = [
    'pg_sleep(10)',
    "set_config('role', 'postgres', true)",
    "pg_read_file('/etc/passwd')",
    "dblink('host=x', 'select 1')",
    '(SELECT usename FROM pg_user LIMIT 1)',
    '(SELECT count(*) FROM pg_catalog.pg_authid)',
    '(SELECT max(query) FROM stl_query)',
    "current_setting('is_superuser')",
    "lo_import('/etc/passwd')",
    'pg_terminate_backend(1)',
  ];
  // Relation and function attacks of the corpus that are expressions; each in every wrapper.
  const fromCorpus = attackCorpus
    .filter(
      (a) => a.expect === 'SQL_BLOCKED' && /^SELECT [a-z_]+\(.*\)$/i.test(a.sql) && !/;|--|\/\*/.test(a.sql),
    )
    .map((a) => a.sql.slice('SELECT '.length))
    .slice(0, 40);

  // The PostgreSQL rendering plans a rotation over a table again once the catalog gave its columns.
  const catalogColumns = { [relationKey(['sales'])]: ['sale_id', 'tenant_id', 'region', 'amount'] };
  for (const [name, wrap] of wrappers) {
    it.each([...expressions, ...fromCorpus])(`${name}: %s`, (expression) => {
      for (const [policy, columns] of [
        [postgres, undefined],
        [postgres, catalogColumns],
        [redshift, undefined],
      ] as const) {
        const error = rejection(wrap(expression), policy, columns);
        expect(['SQL_BLOCKED', 'INVALID_SQL', 'UNSUPPORTED_ON_REDSHIFT']).toContain(error.code);
        if (!/^\(?SELECT|_import|lo_/i.test(expression)) expect(error.code).toBe('SQL_BLOCKED');
      }
    });
  }
});
