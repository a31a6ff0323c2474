/**
 * Guard cost measurement, for `npm run bench` (import `measureGuardCost`) or by hand:
 *   npx tsx test/unit/sql/guard-cost.ts
 * Reports per-statement planning time (µs) uncached (parse → analyze → rewrite → deparse → re-parse
 * and compare) and cached (LRU hit), for a ~1 KB analytic query and two ~100 KB statements.
 */
import { pathToFileURL } from 'node:url';
import {
  defaultGuardPolicy,
  type GuardPolicy,
  initSqlGuard,
  Planner,
  planQueryUncached,
} from '../../../src/sql/index.js';
import { parseSql } from '../../../src/sql/parser.js';

export interface GuardCost {
  case: string;
  chars: number;
  iterations: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

const ANALYTIC =
  "SELECT s.region, p.category, date_trunc('month', s.sold_at) AS month, SUM(s.amount) AS total, COUNT(*) AS n, " +
  'AVG(s.quantity) AS avg_qty, RANK() OVER (PARTITION BY s.region ORDER BY SUM(s.amount) DESC) AS r ' +
  'FROM sales s JOIN products p ON p.product_id = s.product_id JOIN customers c ON c.customer_id = s.customer_id ' +
  "WHERE s.sold_at >= :since AND c.region IN ('EMEA', 'APAC', 'AMER') AND p.price BETWEEN 10 AND 500 " +
  "AND c.email NOT LIKE '%@example.com' GROUP BY s.region, p.category, date_trunc('month', s.sold_at) " +
  'HAVING SUM(s.amount) > 1000';

/** A realistic analytic statement of about `chars` characters (a UNION ALL of analytic blocks). */
export function analyticStatement(chars: number): string {
  const blocks = [ANALYTIC];
  while ((blocks.length + 1) * (ANALYTIC.length + 11) <= chars + ANALYTIC.length / 2) blocks.push(ANALYTIC);
  return `${blocks.join(' UNION ALL ')} ORDER BY total DESC`;
}

/** A machine-generated statement of about `chars` characters: one huge IN list. */
export function inListStatement(chars: number): string {
  const ids: string[] = [];
  let length = 60;
  for (let i = 1; length < chars; i++) {
    ids.push(String(100_000 + i));
    length += 8;
  }
  return `SELECT * FROM sales WHERE customer_id IN (${ids.join(', ')})`;
}

function percentiles(samples: number[]): { p50Us: number; p99Us: number; maxUs: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50Us: Math.round(at(0.5)), p99Us: Math.round(at(0.99)), maxUs: Math.round(at(1)) };
}

function time(label: string, sql: string, iterations: number, run: () => void): GuardCost {
  for (let i = 0; i < Math.min(20, iterations); i++) run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = process.hrtime.bigint();
    run();
    samples.push(Number(process.hrtime.bigint() - started) / 1_000);
  }
  return { case: label, chars: sql.length, iterations, ...percentiles(samples) };
}

export async function measureGuardCost(
  options: { policy?: GuardPolicy; rowCap?: number; scale?: number } = {},
): Promise<GuardCost[]> {
  await initSqlGuard();
  const policy = options.policy ?? defaultGuardPolicy();
  const rowCap = options.rowCap ?? 10_000;
  const scale = options.scale ?? 1;
  const n = (count: number) => Math.max(5, Math.round(count * scale));
  const small = analyticStatement(1_000);
  const big = analyticStatement(98_000);
  const bigList = inListStatement(98_000);
  // 100 KB of analytic blocks has hundreds of joins: lift the limit so the whole pipeline is measured
  const bigPolicy = defaultGuardPolicy({ ...policy, maxJoins: 10_000 });
  const results: GuardCost[] = [];

  const literal = small.replaceAll(':since', "DATE '2024-01-01'");
  results.push(time('1 KB parse only (reference)', literal, n(1_000), () => parseSql(literal)));
  results.push(
    time('1 KB uncached, no placeholder', literal, n(1_000), () =>
      planQueryUncached({ sql: literal, rowCap }, policy),
    ),
  );
  results.push(
    time('1 KB uncached, :placeholders', small, n(1_000), () =>
      planQueryUncached({ sql: small, rowCap }, policy),
    ),
  );
  const planner = new Planner(policy);
  planner.planSync({ sql: small, rowCap });
  results.push(time('1 KB cached', small, n(20_000), () => planner.planSync({ sql: small, rowCap })));
  results.push(
    time('100 KB UNION uncached', big, n(30), () => planQueryUncached({ sql: big, rowCap }, bigPolicy)),
  );
  const bigPlanner = new Planner(bigPolicy);
  bigPlanner.planSync({ sql: big, rowCap });
  results.push(time('100 KB UNION cached', big, n(2_000), () => bigPlanner.planSync({ sql: big, rowCap })));
  results.push(
    time('100 KB IN list uncached', bigList, n(20), () =>
      planQueryUncached({ sql: bigList, rowCap }, policy),
    ),
  );
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await measureGuardCost();
  console.table(results);
}
