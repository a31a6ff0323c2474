/**
 * The demo warehouse: `products`, `customers` and `sales` for a few tenants, generated inside
 * PostgreSQL with generate_series and PostgreSQL's seeded hash functions (`hashint8extended`,
 * stable across versions because hash partitioning depends on it), so every install holds the
 * same rows. No random(): a bug report against the demo data can be reproduced anywhere.
 */
import type pg from 'pg';

/** Share of the sales rows per tenant position; tenants after the third get the last weight. */
const SALES_WEIGHTS = [50, 30, 20, 10];
const MAX_PRODUCTS = 200;
const MAX_CUSTOMERS = 5_000;
/** Sales are spread over 2023-01-01 … 2025-12-31 (1,096 days), in sale_id order, with up to an hour of jitter. */
const SALES_START = '2023-01-01 00:00:00';
const SALES_SPAN_SECONDS = 1_096 * 86_400 - 3_600;

const CATEGORIES: Array<[category: string, nouns: string[]]> = [
  ['Electronics', ['Headphones', 'Monitor', 'Keyboard', 'Webcam', 'Speaker', 'Charger', 'Router', 'Tablet']],
  ['Home', ['Lamp', 'Blanket', 'Kettle', 'Mirror', 'Clock', 'Rug', 'Vase', 'Shelf']],
  ['Garden', ['Hose', 'Planter', 'Shears', 'Trowel', 'Sprinkler', 'Bench', 'Lantern', 'Rake']],
  ['Sports', ['Yoga Mat', 'Dumbbell', 'Racket', 'Helmet', 'Bottle', 'Backpack', 'Jersey', 'Ball']],
  ['Office', ['Desk', 'Chair', 'Notebook', 'Pen Set', 'Stapler', 'Organizer', 'Whiteboard', 'Binder']],
  ['Kitchen', ['Skillet', 'Knife', 'Blender', 'Toaster', 'Cutting Board', 'Mixing Bowl', 'Grinder', 'Scale']],
  ['Toys', ['Puzzle', 'Robot', 'Kite', 'Train Set', 'Board Game', 'Plush Bear', 'Drone', 'Blocks']],
  ['Apparel', ['Jacket', 'Sneakers', 'Scarf', 'Hoodie', 'Cap', 'Gloves', 'Raincoat', 'Socks']],
];
const ADJECTIVES = 'Classic Ultra Eco Smart Compact Deluxe Pro Essential Urban Nordic'.split(' ');
const FIRST_NAMES = [
  ...'Ada Alan Grace Linus Margaret Dennis Barbara Ken Frances Edsger'.split(' '),
  ...'Radia Tim Katherine Donald Hedy John Sophie Niklaus Jean Guido'.split(' '),
  ...'Anita Bjarne Shafi James Lynn Leslie Mary Vint Karen Yukihiro'.split(' '),
];
const LAST_NAMES = [
  ...'Lovelace Turing Hopper Torvalds Hamilton Ritchie Liskov Thompson Allen Dijkstra Perlman'.split(' '),
  ...'Berners-Lee Johnson Knuth Lamarr McCarthy Wilson Wirth Sammet van_Rossum Borg Stroustrup'.split(' '),
  ...'Goldwasser Gosling Conway Lamport Kenneth Cerf Jones Matsumoto'.split(' '),
].map((name) => name.replace('_', ' '));

export interface TenantDemoPlan {
  tenantId: string;
  /** 1-based position; salts the hashes so tenants get different data. */
  ordinal: number;
  salesRows: number;
  products: number;
  customers: number;
}

/** Splits `demoRows` sales across tenants by weight (the first tenant takes the rounding remainder). */
export function planDemoData(tenants: readonly string[], demoRows: number): TenantDemoPlan[] {
  const weights = tenants.map((_, i) => SALES_WEIGHTS[Math.min(i, SALES_WEIGHTS.length - 1)]!);
  const total = weights.reduce((a, b) => a + b, 0);
  const rows = weights.map((w) => Math.floor((demoRows * w) / total));
  if (rows.length > 0) rows[0]! += demoRows - rows.reduce((a, b) => a + b, 0);
  return tenants.map((tenantId, i) => {
    const salesRows = rows[i]!;
    return {
      tenantId,
      ordinal: i + 1,
      salesRows,
      products: clamp(Math.ceil(salesRows / 10), 10, MAX_PRODUCTS),
      customers: clamp(Math.ceil(salesRows / 4), 10, MAX_CUSTOMERS),
    };
  });
}

/** The tenant tables, exactly the documented columns. Primary keys are added after the load. */
export const TENANT_TABLES_DDL = `
CREATE TABLE public.products (
  product_id  integer       NOT NULL,
  tenant_id   text          NOT NULL,
  name        text          NOT NULL,
  category    text          NOT NULL,
  price       numeric(12,2) NOT NULL
);
CREATE TABLE public.customers (
  customer_id integer     NOT NULL,
  tenant_id   text        NOT NULL,
  name        text,
  email       text,
  region      text        CHECK (region IN ('APAC', 'EMEA', 'AMER')),
  created_at  timestamptz DEFAULT now()
);
CREATE TABLE public.sales (
  sale_id     bigint        NOT NULL,
  tenant_id   text          NOT NULL,
  customer_id integer       NOT NULL,
  product_id  integer       NOT NULL,
  region      text          NOT NULL CHECK (region IN ('APAC', 'EMEA', 'AMER')),
  quantity    integer       NOT NULL,
  amount      numeric(12,2) NOT NULL,
  sold_at     timestamp     NOT NULL
);`;

export const TENANT_TABLE_KEYS: Record<string, string> = {
  products: 'product_id',
  customers: 'customer_id',
  sales: 'sale_id',
};

/**
 * Fills the (empty, just created) tenant tables. Runs inside the caller's transaction; with
 * `wal_level=minimal` and the tables created in that same transaction, PostgreSQL skips the WAL.
 */
export async function loadDemoData(
  client: pg.ClientBase,
  plans: readonly TenantDemoPlan[],
  log: (line: string) => void = () => {},
): Promise<void> {
  let mark = performance.now();
  const step = (what: string) => {
    log(`demo data: ${what} in ${Math.round(performance.now() - mark)} ms`);
    mark = performance.now();
  };
  await client.query(
    `CREATE TEMP TABLE seed_tenants ON COMMIT DROP AS
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::int[])
         AS t(tenant_id, ordinal, sales_rows, products, customers)`,
    [
      plans.map((p) => p.tenantId),
      plans.map((p) => p.ordinal),
      plans.map((p) => p.salesRows),
      plans.map((p) => p.products),
      plans.map((p) => p.customers),
    ],
  );
  const categories = sqlArray(CATEGORIES.map(([c]) => c));
  const nouns = `ARRAY[${CATEGORIES.map(([, n]) => sqlArray(n)).join(',')}]`;
  // Pure functions of (tenant, id), so sales derive price and region without a join. Each parameter
  // is used once, which keeps them inlinable (an inlined call costs ~0.1 µs, a real one ~2 µs).
  await client.query(`
    CREATE FUNCTION pg_temp.product_price(ordinal int, product_id bigint) RETURNS numeric
      LANGUAGE sql IMMUTABLE PARALLEL SAFE
      -- 4.99 … 999.99, most of them cheap
      RETURN floor(4 + 996 * power(((hashint8extended(product_id, ordinal * 1000 + 1) & 2147483647) % 1000000)
                   / 1000000::float8, 3))::int + 0.99;
    CREATE FUNCTION pg_temp.customer_region(ordinal int, customer_id bigint) RETURNS text
      LANGUAGE sql IMMUTABLE PARALLEL SAFE
      -- AMER 45 %, EMEA 35 %, APAC 20 %
      RETURN (ARRAY['AMER', 'EMEA', 'APAC'])[
        1 + width_bucket((hashint8extended(customer_id, ordinal * 1000 + 2) & 2147483647) % 100, ARRAY[45, 80])];`);

  await client.query(`
    INSERT INTO public.products (product_id, tenant_id, name, category, price)
    SELECT g.i, t.tenant_id,
           (${sqlArray(ADJECTIVES)})[1 + (h.r / 7) % ${ADJECTIVES.length}] || ' '
             || (${nouns})[1 + (g.i - 1) % ${CATEGORIES.length}][1 + (h.r / 131) % 8] || ' ' || (100 + g.i),
           (${categories})[1 + (g.i - 1) % ${CATEGORIES.length}],
           pg_temp.product_price(t.ordinal, g.i)
    FROM pg_temp.seed_tenants t
    CROSS JOIN LATERAL generate_series(1, t.products) AS g(i)
    CROSS JOIN LATERAL (SELECT hashint8extended(g.i, t.ordinal * 1000 + 7) & 2147483647 AS r) AS h`);
  step('products');

  await client.query(`
    INSERT INTO public.customers (customer_id, tenant_id, name, email, region, created_at)
    SELECT g.i, t.tenant_id, n.first || ' ' || n.last,
           lower(n.first || '.' || replace(n.last, ' ', '') || g.i) || '@' || t.tenant_id || '.example',
           pg_temp.customer_region(t.ordinal, g.i),
           timestamptz '2022-01-01 00:00:00+00' + make_interval(secs => (h.r2 % 110000000)::double precision)
    FROM pg_temp.seed_tenants t
    CROSS JOIN LATERAL generate_series(1, t.customers) AS g(i)
    CROSS JOIN LATERAL (SELECT hashint8extended(g.i, t.ordinal * 1000 + 8) & 2147483647 AS r,
                               hashint8extended(g.i, t.ordinal * 1000 + 3) & 2147483647 AS r2) AS h
    CROSS JOIN LATERAL (SELECT (${sqlArray(FIRST_NAMES)})[1 + h.r % ${FIRST_NAMES.length}] AS first,
                               (${sqlArray(LAST_NAMES)})[1 + h.r2 % ${LAST_NAMES.length}] AS last) AS n`);
  step('customers');

  // Popular products and loyal customers: skew both picks with a power of a uniform hash.
  await client.query(`
    INSERT INTO public.sales (sale_id, tenant_id, customer_id, product_id, region, quantity, amount, sold_at)
    SELECT s.sale_id, s.tenant_id, s.customer_id, s.product_id,
           pg_temp.customer_region(s.ordinal, s.customer_id), s.quantity,
           s.quantity * pg_temp.product_price(s.ordinal, s.product_id),
           timestamp '${SALES_START}'
             + make_interval(secs => floor((s.sale_id - 1) * (${SALES_SPAN_SECONDS}::float8 / s.sales_rows)) + s.jitter)
    FROM (
      SELECT g.i AS sale_id, t.tenant_id, t.ordinal, t.sales_rows,
             1 + floor(t.customers * power((h1 % 1000003) / 1000003::float8, 1.6))::int AS customer_id,
             1 + floor(t.products * power((h2 % 1000003) / 1000003::float8, 2))::int AS product_id,
             CASE WHEN h3 % 100 < 55 THEN 1 WHEN h3 % 100 < 78 THEN 2 WHEN h3 % 100 < 90 THEN 3
                  WHEN h3 % 100 < 96 THEN 4 ELSE 5 + (h3 / 100) % 8 END AS quantity,
             (h3 / 1000) % 3600 AS jitter
      FROM pg_temp.seed_tenants t
      CROSS JOIN LATERAL generate_series(1::bigint, t.sales_rows) AS g(i)
      CROSS JOIN LATERAL (SELECT hashint8extended(g.i, t.ordinal * 1000 + 4) & 2147483647 AS h1,
                                 hashint8extended(g.i, t.ordinal * 1000 + 5) & 2147483647 AS h2,
                                 hashint8extended(g.i, t.ordinal * 1000 + 6) & 2147483647 AS h3) AS h
    ) AS s`);
  step('sales');
}

function sqlArray(values: readonly string[]): string {
  return `ARRAY[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(',')}]::text[]`;
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
