/**
 * Query API benchmarks (issues 2 and 15), the service on its defaults (rate limit off):
 * (a) a small query (LIMIT 100, one tenant), 50 keep-alive connections, against the full service and
 *     the bare baseline handler (bench/baseline-server.ts: the same SQL in one round trip, a pool of
 *     the same size), in interleaved rounds; medians of throughput, p50, p99 and CPU time per
 *     request of the server process and of PostgreSQL (every postmaster child, /proc);
 * (b) fair sharing: three tenants at 50 connections each at once, throughput of each;
 * (c) sustained 2× overload: windows of an open-loop arrival rate of twice the peak (as in (a))
 *     measured just before, each compared with the mean of the peaks just before and just after
 *     it; goodput ÷ peak and p99 of the admitted requests, the median window; for every window,
 *     the service's CPU in it and its admitted requests per CPU-second against the peaks' (what
 *     it kept for admitted queries of the CPU it was given);
 * (d) a 10,000-row sync query: median latency vs a direct `pg` fetch (one round trip) + JSON.stringify.
 */
import pg from 'pg';
import { SERVE_NODE_OPTION } from '../src/runtime/node-heap.js';
import {
  type BenchResult,
  type LoadResult,
  load,
  median,
  openLoad,
  PostgresCpu,
  processCpuMs,
  result,
  startListening,
  stop,
} from './lib.js';
import type { BenchContext } from './run.js';

const SMALL_SQL =
  'SELECT sale_id, customer_id, product_id, region, quantity, amount, sold_at FROM sales LIMIT 100';
/** The same cost for every tenant (an index range scan): SMALL_SQL without ORDER BY reads past other tenants' rows. */
const FAIR_SQL =
  'SELECT sale_id, customer_id, product_id, region, quantity, amount, sold_at FROM sales ORDER BY sale_id LIMIT 100';
const BIG_SQL =
  'SELECT sale_id, customer_id, product_id, region, quantity, amount, sold_at FROM sales LIMIT 10000';
/** The service's default warehouse pool (SPECTRA_WAREHOUSE_POOL_SIZE). */
const POOL_SIZE = 20;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BIG_RUNS = 30;
/** Overload windows in (c), each between two peaks. */
const OVER_PAIRS = Number(process.env.BENCH_OVER_PAIRS ?? 3);

interface Measured extends LoadResult {
  cpuPerReq: number;
  pgCpuPerReq: number;
  /** This process's CPU per request: the load generator shares the 2 cores with what it measures. */
  loadCpuPerReq: number;
}

const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function measured(pid: number, pgCpu: PostgresCpu, run: () => Promise<LoadResult>): Promise<Measured> {
  const cpu0 = processCpuMs(pid);
  const pg0 = pgCpu.snapshot();
  const own0 = ownCpuMs();
  const r = await run();
  const requests = r.rps * SECONDS;
  return {
    ...r,
    cpuPerReq: (processCpuMs(pid) - cpu0) / requests,
    pgCpuPerReq: pgCpu.since(pg0) / requests,
    loadCpuPerReq: (ownCpuMs() - own0) / requests,
  };
}

const med = (xs: Measured[], k: keyof Measured) => median(xs.map((x) => x[k] as number));

export default async function queryBench(ctx: BenchContext): Promise<BenchResult[]> {
  const tenant = ctx.tenants[0]!;
  const auth = { authorization: `Bearer ${tenant.api_key}` };
  const admin = new pg.Pool({ ...ctx.pg, max: 1 });
  const pgCpu = await PostgresCpu.of(admin);
  await admin.end();
  // The same Node option as the service (`npm start`): the two differ only in their code.
  const baseline = await startListening(
    process.execPath,
    [SERVE_NODE_OPTION, '--import', 'tsx', 'bench/baseline-server.ts'],
    {
      PGHOST: ctx.pg.host,
      PGPORT: String(ctx.pg.port),
      PGUSER: ctx.pg.user,
      PGPASSWORD: ctx.pg.password,
      PGDATABASE: ctx.pg.database,
      BASELINE_DB_USER: tenant.db_user,
      BASELINE_POOL_SIZE: String(POOL_SIZE),
    },
  );
  const results: BenchResult[] = [];
  const body = JSON.stringify({ sql: SMALL_SQL });
  const svcRun = () =>
    load({ url: `${ctx.url}/v1/queries`, body, headers: auth, connections: 50, seconds: SECONDS });
  const baseRun = () =>
    load({ url: `${baseline.url}/`, body, headers: {}, connections: 50, seconds: SECONDS });
  const svc: Measured[] = [];
  const base: Measured[] = [];
  try {
    // Warm both sides (pools, JIT, plan cache) before measuring.
    await load({ url: `${ctx.url}/v1/queries`, body, headers: auth, connections: 10, seconds: 2 });
    await load({ url: `${baseline.url}/`, body, headers: {}, connections: 10, seconds: 2 });
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which side goes first, so drifting background load hits both alike.
      const sides = [
        async () => svc.push(await measured(ctx.servicePid, pgCpu, svcRun)),
        async () => base.push(await measured(baseline.child.pid!, pgCpu, baseRun)),
      ];
      if (round % 2) sides.reverse();
      for (const side of sides) await side();
      const s = svc.at(-1)!;
      if (s.non2xx || s.errors)
        throw new Error(`service answered ${s.non2xx} non-2xx and ${s.errors} errors`);
    }
  } finally {
    await stop(baseline.child);
  }
  const name = `small query (LIMIT 100), 50 conns, median of ${ROUNDS}`;
  results.push(
    result(name, 'throughput', 'req/s', med(svc, 'rps'), med(base, 'rps'), true),
    result(name, 'p50 latency', 'ms', med(svc, 'p50'), med(base, 'p50'), false),
    result(name, 'p99 latency', 'ms', med(svc, 'p99'), med(base, 'p99'), false),
    result(name, 'server CPU per request', 'ms', med(svc, 'cpuPerReq'), med(base, 'cpuPerReq'), false),
    result(
      name,
      'PostgreSQL CPU per request',
      'ms',
      med(svc, 'pgCpuPerReq'),
      med(base, 'pgCpuPerReq'),
      false,
    ),
    result(
      name,
      'load generator CPU per request',
      'ms',
      med(svc, 'loadCpuPerReq'),
      med(base, 'loadCpuPerReq'),
      false,
    ),
  );

  // (b) Three tenants, 50 connections each, at once.
  const fairBody = JSON.stringify({ sql: FAIR_SQL });
  const perTenant = await Promise.all(
    ctx.tenants.slice(0, 3).map((t) =>
      load({
        url: `${ctx.url}/v1/queries`,
        body: fairBody,
        headers: { authorization: `Bearer ${t.api_key}` },
        connections: 50,
        seconds: SECONDS * 2,
      }),
    ),
  );
  const rates = perTenant.map((r) => r.rps);
  const fairName = '3 tenants × 50 conns at once (ORDER BY sale_id LIMIT 100)';
  ctx.tenants.slice(0, 3).forEach((t, i) => {
    results.push(result(fairName, `throughput ${t.tenant_id}`, 'req/s', rates[i]!));
  });
  results.push(
    result(fairName, 'slowest / fastest tenant', '×', Math.min(...rates) / Math.max(...rates)),
    result(
      fairName,
      'refused (429/503)',
      'requests',
      perTenant.reduce((n, r) => n + r.non2xx, 0),
    ),
  );

  // (c) Sustained 2× overload, open loop: each window is offered twice the peak measured just
  // before it (50 connections, closed loop) and compared with the mean of that peak and the one
  // measured just after it (the next window's "before"); the window with the median goodput ÷ peak
  // is reported. One peak from (a) minutes earlier made the ratio follow the machine's drift
  // between the two (peaks of 820–1,270 req/s within minutes on this VM); bracketing the window
  // halves what drift during it can do.
  const pairs: {
    /** The mean of the peaks measured just before and just after the window. */
    peak: number;
    peakP99: number;
    over: Awaited<ReturnType<typeof openLoad>>;
    /** The service's CPU during the overload window, in % of one core (its threads summed). */
    cpuPct: number;
    /** Admitted requests per ms of service CPU, under overload ÷ at the peaks around it. */
    perCpu: number;
    /** Service CPU per refusal (ms): what the window used beyond its admitted requests at the peaks' cost. */
    perRefusal: number;
  }[] = [];
  let overSvcCpu = 0;
  let overOwnCpu = 0;
  let overSent = 0;
  const peakRun = async () => {
    const cpu0 = processCpuMs(ctx.servicePid);
    const closed = await svcRun();
    const cpu = processCpuMs(ctx.servicePid) - cpu0;
    if (closed.non2xx || closed.errors)
      throw new Error(`service answered ${closed.non2xx} non-2xx and ${closed.errors} errors at peak`);
    return { ...closed, cpuPerReq: cpu / (closed.rps * SECONDS) };
  };
  let before = await peakRun();
  for (let i = 0; i < OVER_PAIRS; i++) {
    const cpu0 = processCpuMs(ctx.servicePid);
    const own0 = ownCpuMs();
    const over = await openLoad({
      url: `${ctx.url}/v1/queries`,
      body,
      headers: auth,
      rate: Math.round(2 * before.rps),
      seconds: SECONDS * 2,
      maxSockets: 1500,
    });
    const svcCpu = processCpuMs(ctx.servicePid) - cpu0;
    overSvcCpu += svcCpu;
    overOwnCpu += ownCpuMs() - own0;
    overSent += over.sent;
    const after = await peakRun();
    pairs.push({
      peak: (before.rps + after.rps) / 2,
      peakP99: (before.p99 + after.p99) / 2,
      over,
      cpuPct: svcCpu / over.seconds / 10,
      perCpu: over.ok / svcCpu / (2 / (before.cpuPerReq + after.cpuPerReq)),
      perRefusal: over.refused
        ? (svcCpu - (over.ok * (before.cpuPerReq + after.cpuPerReq)) / 2) / over.refused
        : 0,
    });
    before = after;
  }
  const goodputRatio = (p: (typeof pairs)[number]) => p.over.ok / p.over.seconds / p.peak;
  const sorted = [...pairs].sort((a, b) => goodputRatio(a) - goodputRatio(b));
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  const overName = `2× overload (open loop at twice the peak just before; peak: mean of those just before and after; median of ${OVER_PAIRS} windows)`;
  results.push(
    result(overName, 'goodput (baseline: peak)', 'req/s', mid.over.ok / mid.over.seconds, mid.peak, true),
    result(
      overName,
      'p99 latency of admitted (baseline: p99 at the peaks)',
      'ms',
      mid.over.okP99,
      mid.peakP99,
      false,
    ),
    result(overName, 'p50 latency of admitted', 'ms', mid.over.okP50),
    ...pairs.map((p, i) => result(overName, `window ${i + 1}: goodput ÷ peak`, '×', goodputRatio(p))),
    // Below ~100 % the service was not CPU-bound in that window: something else (the machine's
    // other load, the load generator) bounded it, not what refusals cost. Admitted requests per
    // CPU-second ÷ at peak is the share of its CPU the service kept for them, whatever it was given.
    ...pairs.map((p, i) => result(overName, `window ${i + 1}: server CPU`, '% of a core', p.cpuPct)),
    ...pairs.map((p, i) =>
      result(overName, `window ${i + 1}: admitted per server CPU-second ÷ at the peaks`, '×', p.perCpu),
    ),
    // At 2× the peak, goodput ÷ peak = (1 − 2x) / (1 − x) with x = a refusal's CPU ÷ an admitted
    // request's: 0.9× needs a refusal to cost at most ~9 % of an admitted request (docs/benchmarks.md).
    ...pairs.map((p, i) =>
      result(
        overName,
        `window ${i + 1}: server CPU per refusal (beyond the admitted at the peaks' cost)`,
        'ms',
        p.perRefusal,
      ),
    ),
    // The window counts until its last request is answered. New connections opened during the
    // window wait in the kernel's accept queue (Node accepts one per event-loop iteration), and
    // the last of them are answered after the offer ended: the p99 above, and time goodput counts.
    ...pairs.map((p, i) =>
      result(overName, `window ${i + 1}: answering after the offer ended`, 's', p.over.seconds - SECONDS * 2),
    ),
    result(overName, 'refused with 429/503', 'requests', mid.over.refused),
    result(
      overName,
      'other failures',
      'requests',
      pairs.reduce((n, p) => n + p.over.failed, 0),
    ),
    // Both share the 2 cores with the service: what the generator spends per request sent, and what
    // the service spends per refusal beyond its CPU per admitted request, bound the goodput.
    result(overName, 'load generator CPU per request sent', 'ms', overOwnCpu / overSent),
    result(
      overName,
      'server CPU per request sent',
      'ms',
      overSvcCpu / overSent,
      med(svc, 'cpuPerReq'),
      false,
    ),
  );

  // (d) 10,000 rows, sequential requests, alternating service and direct fetch.
  const bigBody = JSON.stringify({ sql: BIG_SQL });
  const pool = new pg.Pool({ ...ctx.pg, max: 2 });
  const svcTimes: number[] = [];
  const directTimes: number[] = [];
  try {
    for (let i = 0; i < BIG_RUNS + 3; i++) {
      let t0 = performance.now();
      const res = await fetch(`${ctx.url}/v1/queries`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: bigBody,
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`10k query failed: ${text.slice(0, 300)}`);
      if (i >= 3) svcTimes.push(performance.now() - t0);
      t0 = performance.now();
      const r = (await pool.query(
        `BEGIN; SET LOCAL ROLE "${tenant.db_user}"; ${BIG_SQL}; COMMIT`,
      )) as unknown as pg.QueryResult[];
      JSON.stringify(r[2]!.rows);
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
