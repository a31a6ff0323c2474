/**
 * SQL guard benchmarks (issue 3):
 * (a) planning cost per statement in µs, uncached vs cached (ratio = uncached / cached), for a
 *     ~1 KB analytic query and a ~100 KB statement (measured in this process, test/unit/sql/guard-cost.ts);
 * (b) small-query p99 through HTTP, alone and while a second client (another tenant) sends
 *     distinct 100 KB statements back to back (ratio = with / alone), on the service under test
 *     (large statements planned in a worker thread) and on a second server of the same build with
 *     SPECTRA_SQL_PLANNER_THREADS=0 (everything planned on the event loop), so both are measured
 *     in the same run. The 100 KB statement is 90 analytic blocks joined by UNION ALL: the guard
 *     parses and analyses all of it, then rejects it (400, 356 joins > 10), so the warehouse does
 *     no work for it and only the guard's cost is measured.
 */
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { analyticStatement, type GuardCost, measureGuardCost } from '../test/unit/sql/guard-cost.js';
import { type BenchResult, type LoadResult, load, result, startListening, stop } from './lib.js';
import type { BenchContext } from './run.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SMALL_CONNECTIONS = 10;
const SMALL_SQL = 'SELECT sale_id, region, amount FROM sales LIMIT 20';
const BIG_TEMPLATE = analyticStatement(98_000);

/** A distinct ~98 KB statement per request, so the plan cache never answers for it. */
const bigStatement = (n: number) => BIG_TEMPLATE.replace('> 1000', `> ${1000 + n}`);

interface LatencyUnderLoad {
  alone: LoadResult;
  withBig: LoadResult;
  bigRequests: number;
  bigP50: number;
}

async function smallQueryLatency(url: string, smallKey: string, bigKey: string): Promise<LatencyUnderLoad> {
  const small = {
    url: `${url}/v1/queries`,
    body: JSON.stringify({ sql: SMALL_SQL }),
    headers: { authorization: `Bearer ${smallKey}` },
    connections: SMALL_CONNECTIONS,
  };
  await load({ ...small, seconds: 2 }); // warm pools, JIT and the small query's plan
  const alone = await load({ ...small, seconds: SECONDS });
  let n = 0;
  const big = autocannon({
    url,
    connections: 1,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        path: '/v1/queries',
        headers: { authorization: `Bearer ${bigKey}`, 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ sql: bigStatement(n++) }) }),
      },
    ],
  });
  const [withBig, bigResult] = await Promise.all([load({ ...small, seconds: SECONDS }), big]);
  for (const r of [alone, withBig])
    if (r.non2xx || r.errors) throw new Error(`small query: ${r.non2xx} non-2xx, ${r.errors} errors`);
  if (bigResult['2xx'] > 0 || bigResult.errors > 0)
    throw new Error('the 100 KB statements must all be rejected with 400');
  return { alone, withBig, bigRequests: bigResult.requests.total, bigP50: bigResult.latency.p50 };
}

/** A second server on the bench's PostgreSQL with every statement planned on the event loop. */
async function startInThreadServer(ctx: BenchContext) {
  const roles = JSON.parse(await readFile(path.join(ctx.home, 'pg', 'roles.json'), 'utf8'));
  const secrets = JSON.parse(await readFile(path.join(ctx.home, 'secrets.json'), 'utf8'));
  const url = (user: string, password: string, db: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${ctx.pg.host}:${ctx.pg.port}/${db}`;
  const home = path.join(os.tmpdir(), `spectra-bench-guard-${process.pid}`);
  const server = await startListening(
    process.execPath,
    ['bin/spectra.js', 'serve', '--port', '0', '--log-level', 'warn'],
    {
      SPECTRA_HOME: home,
      SPECTRA_WAREHOUSE_URL: url(roles.authenticator.user, roles.authenticator.password, ctx.pg.database),
      SPECTRA_STATE_URL: url(roles.stateUser.user, roles.stateUser.password, 'spectra_control'),
      SPECTRA_API_KEY_PEPPER: secrets.apiKeyPepper, // the bench tenants' keys work here too
      SPECTRA_RATE_LIMIT_PER_MINUTE: '0',
      SPECTRA_SQL_PLANNER_THREADS: '0',
    },
  );
  return {
    url: server.url,
    close: async () => {
      await stop(server.child);
      await rm(home, { recursive: true, force: true });
    },
  };
}

function costResults(costs: GuardCost[]): BenchResult[] {
  const find = (label: string) => {
    const c = costs.find((x) => x.case === label);
    if (!c) throw new Error(`guard-cost.ts no longer measures "${label}"`);
    return c;
  };
  const out: BenchResult[] = [];
  const cached1k = find('1 KB cached');
  for (const [name, label] of [
    ['guard: 1 KB query, uncached vs cached', '1 KB uncached, no placeholder'],
    ['guard: 1 KB query with :placeholders, uncached vs cached', '1 KB uncached, :placeholders'],
  ] as const) {
    const c = find(label);
    out.push(
      result(name, 'p50', 'µs', c.p50Us, cached1k.p50Us, false),
      result(name, 'p99', 'µs', c.p99Us, cached1k.p99Us, false),
    );
  }
  const big = find('100 KB UNION uncached');
  const bigCached = find('100 KB UNION cached');
  out.push(
    result('guard: 100 KB statement, uncached vs cached', 'p50', 'µs', big.p50Us, bigCached.p50Us, false),
    result('guard: 100 KB statement, uncached vs cached', 'p99', 'µs', big.p99Us, bigCached.p99Us, false),
  );
  return out;
}

export default async function guardBench(ctx: BenchContext): Promise<BenchResult[]> {
  const results = costResults(await measureGuardCost());
  const [smallTenant, bigTenant] = ctx.tenants;
  if (!smallTenant || !bigTenant) throw new Error('the guard bench needs two demo tenants');

  const threaded = await smallQueryLatency(ctx.url, smallTenant.api_key, bigTenant.api_key);
  const inThreadServer = await startInThreadServer(ctx);
  let inThread: LatencyUnderLoad;
  try {
    inThread = await smallQueryLatency(inThreadServer.url, smallTenant.api_key, bigTenant.api_key);
  } finally {
    await inThreadServer.close();
  }

  for (const [label, r] of [
    ['100 KB statements planned in a worker thread', threaded],
    ['100 KB statements planned on the event loop (SPECTRA_SQL_PLANNER_THREADS=0)', inThread],
  ] as const) {
    const name = `small query p99, alone vs with a 100 KB client; ${label}`;
    results.push(
      result(name, 'p99 latency', 'ms', r.withBig.p99, r.alone.p99, false),
      result(name, 'p50 latency', 'ms', r.withBig.p50, r.alone.p50, false),
      result(name, 'throughput', 'req/s', r.withBig.rps, r.alone.rps, true),
      result(name, '100 KB statements answered (400)', 'requests', r.bigRequests),
      result(name, '100 KB statement p50 latency', 'ms', r.bigP50),
    );
  }
  results.push(
    result(
      'small query p99 with a 100 KB client: worker thread vs event loop',
      'p99 latency',
      'ms',
      threaded.withBig.p99,
      inThread.withBig.p99,
      false,
    ),
  );
  return results;
}
