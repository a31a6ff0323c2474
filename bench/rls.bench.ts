/**
 * Row-level security cost (issue 15, item 3): for each demo tenant, the median latency of
 * `ORDER BY sale_id LIMIT 100` as the tenant role (the policy supplies the tenant) against the same
 * statement with an explicit `tenant_id = '…'` filter run without RLS (the superuser: the table
 * owner is itself subject to the forced policy). One connection each, the two alternating statement by
 * statement, one round trip each; the ratio is tenant / explicit (target ≤ 2).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { type BenchResult, median, result } from './lib.js';
import type { BenchContext } from './run.js';

const SQL = 'SELECT * FROM sales ORDER BY sale_id LIMIT 100';
const WARMUP = 50;
const RUNS = Number(process.env.BENCH_RLS_RUNS ?? 1000);

/** Alternates the two statements one by one, so load from elsewhere on the machine hits both alike. */
async function alternate(a: pg.Client, sqlA: string, b: pg.Client, sqlB: string, runs: number) {
  const timesA: number[] = [];
  const timesB: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await a.query(sqlA);
    timesA.push(performance.now() - t0);
    t0 = performance.now();
    await b.query(sqlB);
    timesB.push(performance.now() - t0);
  }
  return [timesA, timesB] as const;
}

export default async function rlsBench(ctx: BenchContext): Promise<BenchResult[]> {
  const su = JSON.parse(await readFile(path.join(ctx.home, 'pg', 'superuser.json'), 'utf8'));
  const owner = new pg.Client({ ...ctx.pg, user: su.user, password: su.password });
  const tenant = new pg.Client(ctx.pg);
  await owner.connect();
  await tenant.connect();
  const results: BenchResult[] = [];
  try {
    for (const { tenant_id, db_user } of ctx.tenants) {
      const explicit = `SELECT * FROM sales WHERE tenant_id = ${pg.escapeLiteral(tenant_id)} ORDER BY sale_id LIMIT 100`;
      await tenant.query(`BEGIN; SET LOCAL ROLE ${pg.escapeIdentifier(db_user)}`);
      try {
        const plan = await tenant.query(`EXPLAIN ${SQL}`);
        const scan = plan.rows.map((r) => r['QUERY PLAN'] as string).find((l) => /Scan/.test(l));
        process.stdout.write(`  ${tenant_id}: ${scan?.trim()}\n`);
        await alternate(tenant, SQL, owner, explicit, WARMUP);
        const [asTenant, asOwner] = await alternate(tenant, SQL, owner, explicit, RUNS);
        results.push(
          result(
            `rls ${tenant_id} ORDER BY sale_id LIMIT 100`,
            'p50 latency',
            'ms',
            median(asTenant),
            median(asOwner),
            false,
          ),
        );
      } finally {
        await tenant.query('ROLLBACK');
      }
    }
  } finally {
    await tenant.end();
    await owner.end();
  }
  return results;
}
