/**
 * Conformance corpus (issue 13): Redshift syntax cases, written by the dialect front end's author on
 * the demo schema. Shaped as test/conformance/case.ts's ConformanceCase (helper "compat" owns the
 * type and the runner): `embedded` is what POST /v1/queries answers on the PostgreSQL warehouse,
 * `redshift.sent` the text the Data API receives (whitespace collapsed). Demo data: every tenant
 * has sales in the three regions AMER, APAC, EMEA.
 */
/**
 * SUPER values for the PartiQL cases: Redshift's `customer_orders` shape (a SUPER column holding an
 * object with an array of orders), built with JSON_PARSE (jsonb on the embedded warehouse).
 */
const CUSTOMERS = `WITH customers AS (SELECT 1 AS id, JSON_PARSE('{"name": "Ann", "orders": [{"id": 10, "qty": 2, "status": "F"}, {"id": 11, "qty": 5, "status": "O"}]}') AS c_info UNION ALL SELECT 2, JSON_PARSE('{"name": "Bo", "orders": [{"id": 20, "qty": 1, "status": "F", "items": [{"sku": "a"}, {"sku": "b"}]}]}'))`;
/** CUSTOMERS as the Data API receives it. */
const CUSTOMERS_SENT = CUSTOMERS.replaceAll('JSON_PARSE', 'json_parse');
const NAVIGATION_SOURCE =
  'query-super.html (Navigation, Unnesting queries; lax semantics: a missing path is NULL)';

export const syntaxCases = [
  {
    id: 'syntax.top.distinct',
    sql: 'SELECT TOP 100 DISTINCT tenant_id FROM sales',
    tenant: 'globex',
    embedded: { rows: [{ tenant_id: 'globex' }] },
    redshift: { sent: 'SELECT DISTINCT tenant_id FROM sales LIMIT 100' },
  },
  {
    id: 'syntax.top.distinct-after',
    sql: 'SELECT DISTINCT TOP 2 region FROM sales ORDER BY region',
    embedded: { rows: [{ region: 'AMER' }, { region: 'APAC' }] },
    redshift: { sent: 'SELECT DISTINCT region FROM sales ORDER BY region LIMIT 2' },
  },
  {
    id: 'syntax.top.star',
    sql: 'SELECT TOP 1 tenant_id FROM sales ORDER BY sale_id',
    tenant: 'initech',
    embedded: { rows: [{ tenant_id: 'initech' }] },
    redshift: { sent: 'SELECT tenant_id FROM sales ORDER BY sale_id LIMIT 1' },
  },
  {
    id: 'syntax.top.with-limit',
    sql: 'SELECT TOP 5 region FROM sales LIMIT 3',
    embedded: { error: 'INVALID_SQL' },
    redshift: { error: 'INVALID_SQL' },
  },
  {
    id: 'syntax.qualify.alias',
    sql: 'SELECT region, rank() OVER (PARTITION BY region ORDER BY amount DESC, sale_id) AS r FROM sales QUALIFY r = 1 ORDER BY region',
    embedded: {
      rows: [
        { region: 'AMER', r: 1 },
        { region: 'APAC', r: 1 },
        { region: 'EMEA', r: 1 },
      ],
    },
    redshift: {
      sent: 'SELECT region, rank() OVER (PARTITION BY region ORDER BY amount DESC, sale_id) AS r FROM sales QUALIFY r = 1 ORDER BY region LIMIT 10001',
    },
  },
  {
    id: 'syntax.qualify.window-in-condition',
    sql: 'SELECT region FROM sales QUALIFY row_number() OVER (PARTITION BY region ORDER BY sale_id) = 1 ORDER BY region',
    embedded: { rows: [{ region: 'AMER' }, { region: 'APAC' }, { region: 'EMEA' }] },
    redshift: {
      sent: 'SELECT region FROM sales QUALIFY row_number() OVER (PARTITION BY region ORDER BY sale_id) = 1 ORDER BY region LIMIT 10001',
    },
  },
  {
    id: 'syntax.qualify.star-over-joined-items',
    sql: "SELECT * FROM (SELECT DISTINCT region FROM sales) AS r JOIN (SELECT 'EMEA' AS name, 2 AS n) AS e ON r.region = e.name QUALIFY row_number() OVER (ORDER BY r.region) = 1",
    embedded: { rows: [{ region: 'EMEA', name: 'EMEA', n: 2 }] },
    redshift: {
      sent: "SELECT * FROM (SELECT DISTINCT region FROM sales) AS r JOIN (SELECT 'EMEA' AS name, 2 AS n) AS e ON r.region = e.name QUALIFY row_number() OVER (ORDER BY r.region) = 1 LIMIT 10001",
    },
  },
  {
    id: 'syntax.qualify.blocked-function',
    sql: 'SELECT region FROM sales QUALIFY pg_sleep(1) IS NULL',
    embedded: { error: 'SQL_BLOCKED' },
    redshift: { error: 'SQL_BLOCKED' },
  },
  {
    id: 'syntax.approximate.count-distinct',
    sql: 'SELECT APPROXIMATE COUNT(DISTINCT region) AS n FROM sales',
    embedded: { rows: [{ n: 3 }] },
    redshift: { sent: 'SELECT APPROXIMATE count(DISTINCT region) AS n FROM sales LIMIT 10001' },
  },
  {
    id: 'syntax.listagg.distinct-within-group',
    sql: "SELECT LISTAGG(DISTINCT region, ',') WITHIN GROUP (ORDER BY region) AS regions FROM sales",
    embedded: { rows: [{ regions: 'AMER,APAC,EMEA' }] },
    redshift: {
      sent: "SELECT listagg(DISTINCT region, ',') WITHIN GROUP (ORDER BY region) AS regions FROM sales LIMIT 10001",
    },
  },
  {
    id: 'syntax.listagg.within-group',
    sql: "SELECT LISTAGG(region, ',') WITHIN GROUP (ORDER BY region) AS regions FROM (SELECT DISTINCT region FROM sales) AS r",
    embedded: { rows: [{ regions: 'AMER,APAC,EMEA' }] },
    redshift: {
      sent: "SELECT listagg(region, ',') WITHIN GROUP (ORDER BY region) AS regions FROM (SELECT DISTINCT region FROM sales) AS r LIMIT 10001",
    },
  },
  {
    id: 'syntax.convert',
    sql: "SELECT CONVERT(integer, '42') AS n, CONVERT(decimal(5,2), 1.5) AS d",
    embedded: { rows: [{ n: 42, d: '1.50' }] },
    redshift: { sent: "SELECT '42'::int AS n, CAST(1.5 AS numeric(5, 2)) AS d LIMIT 10001" },
  },
  {
    id: 'syntax.nvl',
    sql: 'SELECT NVL(NULL, 7) AS n',
    embedded: { rows: [{ n: 7 }] },
    redshift: { sent: 'SELECT nvl(NULL, 7) AS n LIMIT 10001' },
  },
  {
    id: 'syntax.sysdate',
    sql: 'SELECT SYSDATE IS NOT NULL AS has',
    embedded: { rows: [{ has: true }] },
    redshift: { sent: 'SELECT SYSDATE IS NOT NULL AS has LIMIT 10001' },
  },
  {
    id: 'syntax.dateadd.bare-part',
    sql: "SELECT DATEADD(month, 1, '2024-01-31'::date) AS d",
    embedded: { rows: [{ d: '2024-02-29T00:00:00' }] }, // TIMESTAMP in JSON: ISO 8601 (docs/types.md)
    redshift: { sent: "SELECT dateadd(month, 1, '2024-01-31'::date) AS d LIMIT 10001" },
  },
  {
    id: 'syntax.datediff.abbreviation',
    sql: "SELECT DATEDIFF(y, '2023-12-31'::date, '2024-01-01'::date) AS n",
    embedded: { rows: [{ n: 1 }] },
    redshift: { sent: "SELECT datediff(year, '2023-12-31'::date, '2024-01-01'::date) AS n LIMIT 10001" },
  },
  {
    id: 'syntax.date-part.qtr',
    sql: "SELECT DATE_PART(qtr, '2024-05-01'::date) AS q",
    embedded: { rows: [{ q: 2 }] },
    redshift: { sent: "SELECT date_part(quarter, '2024-05-01'::date) AS q LIMIT 10001" },
  },
  {
    id: 'syntax.quoted-names-untouched',
    sql: `SELECT 'TOP 5' AS "qualify"`,
    embedded: { rows: [{ qualify: 'TOP 5' }] },
    redshift: { sent: `SELECT 'TOP 5' AS "qualify" LIMIT 10001` },
  },
  {
    id: 'syntax.pg-only.generate-series',
    sql: 'SELECT g FROM generate_series(1, 3) AS g',
    embedded: { rows: [{ g: 1 }, { g: 2 }, { g: 3 }] },
    redshift: { error: 'UNSUPPORTED_ON_REDSHIFT' },
  },
  {
    id: 'syntax.pg-only.filter',
    sql: 'SELECT count(*) FILTER (WHERE amount > 0) > 0 AS any FROM sales',
    embedded: { rows: [{ any: true }] },
    redshift: { error: 'UNSUPPORTED_ON_REDSHIFT' },
  },
  {
    id: 'syntax.pg-only.array',
    sql: 'SELECT ARRAY[1, 2] AS a',
    embedded: { rows: [{ a: [1, 2] }] },
    redshift: { error: 'UNSUPPORTED_ON_REDSHIFT' },
  },
  {
    id: 'syntax.pg-only.distinct-on',
    sql: 'SELECT DISTINCT ON (region) region FROM sales ORDER BY region',
    embedded: { rows: [{ region: 'AMER' }, { region: 'APAC' }, { region: 'EMEA' }] },
    redshift: { error: 'UNSUPPORTED_ON_REDSHIFT' },
  },
  {
    id: 'syntax.pg-only.jsonb',
    sql: `SELECT '{"a": 1}'::jsonb -> 'a' AS a`,
    embedded: { rows: [{ a: 1 }] },
    redshift: { error: 'UNSUPPORTED_ON_REDSHIFT' },
  },
  {
    id: 'syntax.pivot.count-star',
    sql: "SELECT * FROM (SELECT DISTINCT region FROM sales) PIVOT (COUNT(*) FOR region IN ('AMER', 'APAC', 'EMEA'))",
    embedded: { rows: [{ amer: 1, apac: 1, emea: 1 }] },
    redshift: {
      sent: "SELECT * FROM (SELECT DISTINCT region FROM sales) PIVOT (count(*) FOR region IN ('AMER', 'APAC', 'EMEA')) LIMIT 10001",
    },
    source: 'r_FROM_clause-pivot-unpivot-examples.html (value names as columns)',
  },
  {
    id: 'syntax.pivot.implicit-column-and-aliases',
    sql: "SELECT * FROM (SELECT DISTINCT tenant_id, region FROM sales) AS s PIVOT (COUNT(region) AS n FOR region IN ('EMEA' AS eu, 'AMER')) AS p",
    tenant: 'globex',
    embedded: { rows: [{ tenant_id: 'globex', eu_n: 1, amer_n: 1 }] },
    redshift: {
      sent: "SELECT * FROM (SELECT DISTINCT tenant_id, region FROM sales) AS s PIVOT (count(region) AS n FOR region IN ('EMEA' AS eu, 'AMER')) AS p LIMIT 10001",
    },
    source: 'r_FROM_clause-pivot-unpivot-examples.html (implicit grouping column)',
  },
  {
    id: 'syntax.pivot.sum-missing-value',
    sql: "SELECT * FROM (SELECT 'a' AS k, 1 AS v UNION ALL SELECT 'a', 2 UNION ALL SELECT 'b', 5) PIVOT (SUM(v) FOR k IN ('a', 'b', 'c'))",
    embedded: { rows: [{ a: 3, b: 5, c: null }] },
    redshift: {
      sent: "SELECT * FROM ((SELECT 'a' AS k, 1 AS v UNION ALL SELECT 'a', 2) UNION ALL SELECT 'b', 5) PIVOT (sum(v) FOR k IN ('a', 'b', 'c')) LIMIT 10001",
    },
  },
  {
    id: 'syntax.pivot.table-source',
    // The implicit columns are every other column of sales, sale_id among them: one row per sale.
    sql: "SELECT count(*) = (SELECT count(*) FROM sales) AS one_row_per_sale, sum(emea) = (SELECT sum(amount) FROM sales WHERE region = 'EMEA') AS emea_total FROM sales PIVOT (SUM(amount) FOR region IN ('EMEA'))",
    embedded: { rows: [{ one_row_per_sale: true, emea_total: true }] },
    redshift: {
      sent: "SELECT count(*) = ((SELECT count(*) FROM sales)) AS one_row_per_sale, sum(emea) = ((SELECT sum(amount) FROM sales WHERE region = 'EMEA')) AS emea_total FROM sales PIVOT (sum(amount) FOR region IN ('EMEA'))",
    },
    source:
      'r_FROM_clause-pivot-unpivot-examples.html (PIVOT over a table: the implicit columns are the others)',
  },
  {
    id: 'syntax.unpivot.table-source',
    // UNPIVOT keeps every column not in the IN list; NULLs are excluded by default (none here).
    sql: 'SELECT count(*) = 2 * (SELECT count(*) FROM sales) AS two_per_sale, count(DISTINCT sale_id) = (SELECT count(*) FROM sales) AS sales_kept FROM sales UNPIVOT (v FOR k IN (amount, quantity))',
    embedded: { rows: [{ two_per_sale: true, sales_kept: true }] },
    redshift: {
      sent: 'SELECT count(*) = (2 * ((SELECT count(*) FROM sales))) AS two_per_sale, count(DISTINCT sale_id) = ((SELECT count(*) FROM sales)) AS sales_kept FROM sales UNPIVOT (v FOR k IN (amount, quantity))',
    },
    source: 'r_FROM_clause-pivot-unpivot-examples.html (UNPIVOT over a table)',
  },
  {
    id: 'syntax.pivot.cte-source',
    sql: "WITH s AS (SELECT region, amount FROM sales WHERE region <> 'APAC') SELECT amer + emea = (SELECT sum(amount) FROM s) AS all_counted FROM s PIVOT (SUM(amount) FOR region IN ('AMER', 'EMEA'))",
    embedded: { rows: [{ all_counted: true }] },
    redshift: {
      sent: "WITH s AS (SELECT region, amount FROM sales WHERE region <> 'APAC') SELECT (amer + emea) = ((SELECT sum(amount) FROM s)) AS all_counted FROM s PIVOT (sum(amount) FOR region IN ('AMER', 'EMEA'))",
    },
  },
  {
    id: 'syntax.pivot.unreadable-table-source',
    // The columns come from the catalog as the tenant sees it: a relation it cannot read is the statement's own error.
    sql: "SELECT * FROM no_such_table PIVOT (SUM(amount) FOR region IN ('EMEA'))",
    embedded: { error: 'QUERY_FAILED' },
    redshift: { sent: "SELECT * FROM no_such_table PIVOT (sum(amount) FOR region IN ('EMEA'))" },
  },
  {
    id: 'syntax.pivot.table-source-other-schema',
    sql: "SELECT * FROM spectra_globex.sales PIVOT (SUM(amount) FOR region IN ('EMEA'))",
    embedded: { error: 'SQL_BLOCKED' },
    redshift: { error: 'SQL_BLOCKED' },
  },
  {
    id: 'syntax.pivot.blocked-function',
    sql: "SELECT * FROM (SELECT region, amount FROM sales) PIVOT (MAX(pg_sleep(1)) FOR region IN ('EMEA'))",
    embedded: { error: 'SQL_BLOCKED' },
    redshift: { error: 'SQL_BLOCKED' },
  },
  {
    id: 'syntax.pivot.other-schema',
    sql: "SELECT * FROM (SELECT region, amount FROM spectra_globex.sales) PIVOT (SUM(amount) FOR region IN ('EMEA'))",
    embedded: { error: 'SQL_BLOCKED' },
    redshift: { error: 'SQL_BLOCKED' },
  },
  {
    id: 'syntax.unpivot.exclude-nulls',
    sql: 'SELECT * FROM (SELECT 1 AS id, 10 AS red, NULL::int AS green, 30 AS blue) UNPIVOT (cnt FOR color IN (red, green, blue)) ORDER BY color',
    embedded: {
      rows: [
        { id: 1, color: 'blue', cnt: 30 },
        { id: 1, color: 'red', cnt: 10 },
      ],
    },
    redshift: {
      sent: 'SELECT * FROM (SELECT 1 AS id, 10 AS red, NULL::int AS green, 30 AS blue) UNPIVOT (cnt FOR color IN (red, green, blue)) ORDER BY color LIMIT 10001',
    },
    source: 'r_FROM_clause-pivot-unpivot-examples.html (NULL values are excluded by default)',
  },
  {
    id: 'syntax.unpivot.include-nulls',
    sql: 'SELECT * FROM (SELECT 1 AS id, 10 AS red, NULL::int AS green, 30 AS blue) UNPIVOT INCLUDE NULLS (cnt FOR color IN (red AS r, green, blue)) ORDER BY color',
    embedded: {
      rows: [
        { id: 1, color: 'blue', cnt: 30 },
        { id: 1, color: 'green', cnt: null },
        { id: 1, color: 'r', cnt: 10 },
      ],
    },
    redshift: {
      sent: 'SELECT * FROM (SELECT 1 AS id, 10 AS red, NULL::int AS green, 30 AS blue) UNPIVOT INCLUDE NULLS (cnt FOR color IN (red AS r, green, blue)) ORDER BY color LIMIT 10001',
    },
  },
  {
    id: 'syntax.super.navigation',
    sql: `${CUSTOMERS} SELECT c.id, c.c_info.orders[0].id AS first_order FROM customers AS c ORDER BY c.id`,
    embedded: {
      rows: [
        { id: 1, first_order: 10 },
        { id: 2, first_order: 20 },
      ],
    },
    redshift: {
      sent: `${CUSTOMERS_SENT} SELECT c.id, c.c_info.orders[0].id AS first_order FROM customers AS c ORDER BY c.id`,
    },
    source: NAVIGATION_SOURCE,
  },
  {
    id: 'syntax.super.compare-with-string-parameter',
    // Redshift compares a SUPER value with a parameter by the parameter's value: 'O' is the string "O".
    sql: `${CUSTOMERS} SELECT c.id, o.id AS order_id FROM customers AS c, c.c_info.orders AS o WHERE o.status = :status ORDER BY o.id`,
    params: { status: 'O' },
    embedded: { rows: [{ id: 1, order_id: 11 }] },
    redshift: {},
    source: NAVIGATION_SOURCE,
  },
  {
    id: 'syntax.super.compare-with-number-parameter',
    sql: `${CUSTOMERS} SELECT c.id FROM customers AS c, c.c_info.orders AS o WHERE :order_id = o.id ORDER BY c.id`,
    params: { order_id: 20 },
    embedded: { rows: [{ id: 2 }] },
    redshift: {},
    source: NAVIGATION_SOURCE,
  },
  {
    id: 'syntax.super.in-list-of-constants',
    sql: `${CUSTOMERS} SELECT o.id FROM customers AS c, c.c_info.orders AS o WHERE o.status IN ('O', 'X') ORDER BY o.id`,
    embedded: { rows: [{ id: 11 }] },
    redshift: {},
    source: NAVIGATION_SOURCE,
  },
  {
    id: 'syntax.super.subscript-parameter',
    // Redshift SUPER has no slices: `[:i]` is the parameter i as the subscript.
    sql: `${CUSTOMERS} SELECT c.id, c.c_info.orders[:i].id AS order_id FROM customers AS c ORDER BY c.id`,
    params: { i: 1 },
    embedded: {
      rows: [
        { id: 1, order_id: 11 },
        { id: 2, order_id: null },
      ],
    },
    redshift: {},
    source: NAVIGATION_SOURCE,
  },
  {
    id: 'syntax.super.names-per-scope',
    // `o` is an unnested order in the first branch and the customers CTE in the second: o.id is the column there.
    sql: `${CUSTOMERS} SELECT o.id::int AS id FROM customers AS c, c.c_info.orders AS o UNION ALL SELECT o.id FROM customers AS o ORDER BY id`,
    embedded: { rows: [{ id: 1 }, { id: 2 }, { id: 10 }, { id: 11 }, { id: 20 }] },
    redshift: {},
    source: NAVIGATION_SOURCE,
  },
  {
    id: 'syntax.postgres-array-subscript',
    // A subscript on a column is SUPER navigation; a PostgreSQL array is subscripted through a cast to its type.
    sql: 'SELECT (a::int[])[2] AS x FROM (SELECT ARRAY[10, 20] AS a) AS s',
    embedded: { rows: [{ x: 20 }] },
    redshift: { error: 'UNSUPPORTED_ON_REDSHIFT' },
  },
  {
    id: 'syntax.super.navigation-missing-is-null',
    sql: `${CUSTOMERS} SELECT c.id, c.c_info.orders[1].id AS second_order, c.c_info.phone AS phone FROM customers AS c ORDER BY c.id`,
    embedded: {
      rows: [
        { id: 1, second_order: 11, phone: null },
        { id: 2, second_order: null, phone: null },
      ],
    },
    redshift: {
      sent: `${CUSTOMERS_SENT} SELECT c.id, c.c_info.orders[1].id AS second_order, c.c_info.phone AS phone FROM customers AS c ORDER BY c.id`,
    },
    source: NAVIGATION_SOURCE,
  },
  {
    id: 'syntax.super.navigation-cast-varchar',
    sql: `${CUSTOMERS} SELECT c.c_info.name::varchar AS name FROM customers AS c ORDER BY 1`,
    embedded: { rows: [{ name: 'Ann' }, { name: 'Bo' }] },
    redshift: {
      sent: `${CUSTOMERS_SENT} SELECT CAST(c.c_info.name AS varchar) AS name FROM customers AS c ORDER BY 1`,
    },
    source: 'r_CAST_function.html (a SUPER string cast to VARCHAR is its value)',
  },
  {
    id: 'syntax.super.unnest',
    sql: `${CUSTOMERS} SELECT c.id, o.id AS order_id FROM customers AS c, c.c_info.orders AS o ORDER BY 1, 2`,
    embedded: {
      rows: [
        { id: 1, order_id: 10 },
        { id: 1, order_id: 11 },
        { id: 2, order_id: 20 },
      ],
    },
    redshift: {
      sent: `${CUSTOMERS_SENT} SELECT c.id, o.id AS order_id FROM customers AS c, c.c_info.orders AS o ORDER BY 1, 2`,
    },
    source: NAVIGATION_SOURCE,
  },
  {
    id: 'syntax.super.unnest-at-index',
    sql: `${CUSTOMERS} SELECT c.id, i, o.qty FROM customers AS c, c.c_info.orders AS o AT i ORDER BY c.id, i`,
    embedded: {
      rows: [
        { id: 1, i: 0, qty: 2 },
        { id: 1, i: 1, qty: 5 },
        { id: 2, i: 0, qty: 1 },
      ],
    },
    redshift: {
      sent: `${CUSTOMERS_SENT} SELECT c.id, i, o.qty FROM customers AS c, c.c_info.orders AS o AT i ORDER BY c.id, i`,
    },
    source: 'query-super.html (AT: the 0-based index of the element)',
  },
  {
    id: 'syntax.super.unnest-where-string',
    sql: `${CUSTOMERS} SELECT o.id AS order_id FROM customers AS c, c.c_info.orders AS o WHERE o.status = 'F' ORDER BY 1`,
    embedded: { rows: [{ order_id: 10 }, { order_id: 20 }] },
    redshift: {
      sent: `${CUSTOMERS_SENT} SELECT o.id AS order_id FROM customers AS c, c.c_info.orders AS o WHERE o.status = 'F' ORDER BY 1`,
    },
    source: NAVIGATION_SOURCE,
  },
  {
    id: 'syntax.super.unnest-nested',
    sql: `${CUSTOMERS} SELECT c.id, li.sku::varchar AS sku FROM customers AS c, c.c_info.orders AS o, o.items AS li ORDER BY 2`,
    embedded: {
      rows: [
        { id: 2, sku: 'a' },
        { id: 2, sku: 'b' },
      ],
    },
    redshift: {
      sent: `${CUSTOMERS_SENT} SELECT c.id, CAST(li.sku AS varchar) AS sku FROM customers AS c, c.c_info.orders AS o, o.items AS li ORDER BY 2`,
    },
    source: 'query-super.html (an element without the array gives no rows)',
  },
  {
    id: 'syntax.super.unnest-aggregate',
    sql: `${CUSTOMERS} SELECT c.id, COUNT(*) AS orders, SUM(o.qty::int) AS qty FROM customers AS c, c.c_info.orders AS o GROUP BY c.id ORDER BY c.id`,
    embedded: {
      rows: [
        { id: 1, orders: 2, qty: 7 },
        { id: 2, orders: 1, qty: 1 },
      ],
    },
    redshift: {
      sent: `${CUSTOMERS_SENT} SELECT c.id, count(*) AS orders, sum(CAST(o.qty AS int)) AS qty FROM customers AS c, c.c_info.orders AS o GROUP BY c.id ORDER BY c.id`,
    },
  },
  {
    id: 'syntax.super.unnest-alias-spelled-like-a-schema',
    sql: 'SELECT 1 FROM sales AS spectra_globex, spectra_globex.sales',
    embedded: { error: 'SQL_BLOCKED' },
    redshift: { error: 'SQL_BLOCKED' },
  },
  {
    id: 'syntax.super.unnest-from-a-later-item',
    sql: 'SELECT 1 FROM c.orders AS o, sales AS c',
    embedded: { error: 'SQL_BLOCKED' },
    redshift: { error: 'SQL_BLOCKED' },
  },
];
