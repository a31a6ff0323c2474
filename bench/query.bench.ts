/**
 * Query API benchmarks (issue 2):
 * (a) a small query (LIMIT 100, one tenant), 50 keep-alive connections for 10 s, against the full
 *     service and against the bare baseline handler (bench/baseline-server.ts) in the same run;
 * (b) a 10,000-row sync query: median latency of the service vs a direct `pg` fetch + JSON.stringify.
 */
import pg from 'pg';
import { type BenchResult, load, median, result, startListening, stop } from './lib.js';
import type { BenchContext } from './run.js';

const SMALL_SQL =
  'SELECT sale_id, customer_id, product_id, region, quantity, amount, sold_at FROM sales LIMIT 100';
const BIG_SQL =
  'SELECT sale_id, customer_id, product_id, region, quantity, amount, sold_at FROM sales LIMIT 10000';
const POOL_SIZE = 20;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BIG_RUNS = 30;

export default async function queryBench(ctx: BenchContext): Promise<BenchResult[]> {
  const tenant = ctx.tenants[0]!;
  const auth = { authorization: `Bearer ${tenant.api_key}` };
  const baseline = await startListening(process.execPath, ['--import', 'tsx', 'bench/baseline-server.ts'], {
    PGHOST: ctx.pg.host,
    PGPORT: String(ctx.pg.port),
    PGUSER: ctx.pg.user,
    PGPASSWORD: ctx.pg.password,
    PGDATABASE: ctx.pg.database,
    BASELINE_DB_USER: tenant.db_user,
    BASELINE_POOL_SIZE: String(POOL_SIZE),
  });
  const results: BenchResult[] = [];
  try {
    const body = JSON.stringify({ sql: SMALL_SQL });
    // Warm both sides (pools, JIT, plan cache) before measuring.
    await load({ url: `${ctx.url}/v1/queries`, body, headers: auth, connections: 10, seconds: 2 });
    await load({ url: `${baseline.url}/`, body, headers: {}, connections: 10, seconds: 2 });
    const svc = await load({
      url: `${ctx.url}/v1/queries`,
      body,
      headers: auth,
      connections: 50,
      seconds: SECONDS,
    });
    const base = await load({
      url: `${baseline.url}/`,
      body,
      headers: {},
      connections: 50,
      seconds: SECONDS,
    });
    if (svc.non2xx || svc.errors)
      throw new Error(`service answered ${svc.non2xx} non-2xx and ${svc.errors} errors`);
    results.push(
      result('small query (LIMIT 100), 50 conns', 'throughput', 'req/s', svc.rps, base.rps, true),
      result('small query (LIMIT 100), 50 conns', 'p50 latency', 'ms', svc.p50, base.p50, false),
      result('small query (LIMIT 100), 50 conns', 'p99 latency', 'ms', svc.p99, base.p99, false),
    );
  } finally {
    await stop(baseline.child);
  }

  // (b) 10,000 rows, sequential requests.
  const svcTimes: number[] = [];
  const bigBody = JSON.stringify({ sql: BIG_SQL });
  for (let i = 0; i < BIG_RUNS + 3; i++) {
    const t0 = performance.now();
    const res = await fetch(`${ctx.url}/v1/queries`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: bigBody,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`10k query failed: ${text.slice(0, 300)}`);
    if (i >= 3) svcTimes.push(performance.now() - t0);
  }
  const pool = new pg.Pool({ ...ctx.pg, max: 2 });
  const directTimes: number[] = [];
  try {
    for (let i = 0; i < BIG_RUNS + 3; i++) {
      const t0 = performance.now();
      const client = await pool.connect();
      try {
        await client.query(`BEGIN; SET LOCAL ROLE "${tenant.db_user}"`);
        const r = await client.query(BIG_SQL);
        await client.query('COMMIT');
        JSON.stringify(r.rows);
      } finally {
        client.release();
      }
      if (i >= 3) directTimes.push(performance.now() - t0);
    }
  } finally {
    await pool.end();
  }
  results.push(
    result('10,000-row sync query', 'median latency', 'ms', median(svcTimes), median(directTimes), false),
  );
  return results;
}
