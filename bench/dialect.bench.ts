/**
 * Redshift front-end cost (issue 13): planning a ~1 KB Redshift statement (TOP, QUALIFY, LISTAGG …
 * WITHIN GROUP, APPROXIMATE, bare date parts, NVL, SYSDATE) against a ~1 KB PostgreSQL statement of
 * the same shape planned for PostgreSQL as before issue 13 (the baseline), uncached, for each
 * rendering target. Target: ratio ≤ 1.5. By hand:
 *   npx tsx bench/dialect.bench.ts
 */
import { pathToFileURL } from 'node:url';
import { defaultGuardPolicy, type GuardPolicy, initSqlGuard, planQueryUncached } from '../src/sql/index.js';
import { type BenchResult, printTable, result } from './lib.js';

const POSTGRES_SQL =
  "SELECT s.region, p.category, date_trunc('month', s.sold_at) AS month, SUM(s.amount) AS total, COUNT(DISTINCT s.customer_id) AS buyers, " +
  "string_agg(DISTINCT p.category, ',' ORDER BY p.category) AS categories, COALESCE(MAX(c.email), 'none') AS email, " +
  "s.sold_at + interval '1 month' AS next_month, (s.sold_at::date - '2024-01-01'::date) AS days, " +
  'RANK() OVER (PARTITION BY s.region ORDER BY SUM(s.amount) DESC) AS r ' +
  'FROM sales s JOIN products p ON p.product_id = s.product_id JOIN customers c ON c.customer_id = s.customer_id ' +
  "WHERE s.sold_at >= LOCALTIMESTAMP - interval '1 year' AND c.region IN ('EMEA', 'APAC', 'AMER') AND p.price BETWEEN 10 AND 500 " +
  "AND c.email NOT LIKE '%@example.com' AND s.quantity > 0 AND s.amount > 0 " +
  "GROUP BY s.region, p.category, date_trunc('month', s.sold_at), s.sold_at " +
  'HAVING SUM(s.amount) > 1000 ORDER BY total DESC LIMIT 100';

const REDSHIFT_SQL =
  "SELECT TOP 100 s.region, p.category, date_trunc('month', s.sold_at) AS month, SUM(s.amount) AS total, APPROXIMATE COUNT(DISTINCT s.customer_id) AS buyers, " +
  "LISTAGG(DISTINCT p.category, ',') WITHIN GROUP (ORDER BY p.category) AS categories, NVL(MAX(c.email), 'none') AS email, " +
  "DATEADD(month, 1, s.sold_at) AS next_month, DATEDIFF(d, '2024-01-01'::date, s.sold_at) AS days, " +
  'RANK() OVER (PARTITION BY s.region ORDER BY SUM(s.amount) DESC) AS r ' +
  'FROM sales s JOIN products p ON p.product_id = s.product_id JOIN customers c ON c.customer_id = s.customer_id ' +
  "WHERE s.sold_at >= DATEADD(y, -1, SYSDATE) AND c.region IN ('EMEA', 'APAC', 'AMER') AND p.price BETWEEN 10 AND 500 " +
  "AND c.email NOT LIKE '%@example.com' AND s.quantity > 0 " +
  "GROUP BY s.region, p.category, date_trunc('month', s.sold_at), s.sold_at " +
  'HAVING SUM(s.amount) > 1000 QUALIFY r <= 3 ORDER BY total DESC';

function p50Micros(sql: string, policy: GuardPolicy, iterations: number): number {
  const run = () => planQueryUncached({ sql, rowCap: 10_000 }, policy);
  for (let i = 0; i < 50; i++) run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = process.hrtime.bigint();
    run();
    samples.push(Number(process.hrtime.bigint() - started) / 1_000);
  }
  samples.sort((a, b) => a - b);
  return Math.round(samples[Math.floor(samples.length / 2)] ?? 0);
}

export default async function dialectBench(): Promise<BenchResult[]> {
  await initSqlGuard();
  const iterations = Number(process.env.BENCH_DIALECT_ITERATIONS ?? 2_000);
  const out: BenchResult[] = [];
  const baselinePolicy = defaultGuardPolicy();
  for (const target of ['postgres', 'redshift'] as const) {
    const policy = defaultGuardPolicy({ target });
    // Interleaved rounds, so both statements see the same machine state.
    let redshift = 0;
    let postgres = 0;
    for (let round = 0; round < 3; round++) {
      redshift += p50Micros(REDSHIFT_SQL, policy, iterations / 3);
      postgres += p50Micros(POSTGRES_SQL, baselinePolicy, iterations / 3);
    }
    out.push(
      result(
        `guard: plan a ${REDSHIFT_SQL.length}-char Redshift statement, rendered for ${target}`,
        `p50 uncached (baseline: a ${POSTGRES_SQL.length}-char PostgreSQL statement)`,
        'µs',
        Math.round(redshift / 3),
        Math.round(postgres / 3),
        false,
      ),
    );
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printTable(await dialectBench());
