/**
 * Cost of operability per request (issue 9): the small query load of query.bench.ts (LIMIT 100,
 * one tenant, 50 keep-alive connections) against service processes that differ only in
 * configuration — audit trail + metrics on vs off (target ratio ≥ 0.9), and shared rate-limit
 * buckets in the state store vs none. The processes run in the cluster shape against the bench's
 * PostgreSQL (two servers cannot share one embedded home), with the bench home's pepper so the
 * demo keys work; runs alternate to spread drift. Besides throughput and latency it reports CPU
 * time per request (the service process plus every PostgreSQL process, from /proc), which is
 * less sensitive to other load on the machine, and the in-process cost of the HTTP layer with
 * and without audit + metrics (a warehouse that answers at once; no network, no PostgreSQL).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Principal } from '../src/domain/principal.js';
import { createApp, type Operability } from '../src/http/app.js';
import { AuditWriter } from '../src/observability/audit-writer.js';
import { ServiceMetrics } from '../src/observability/service-metrics.js';
import { Tracer } from '../src/observability/tracing.js';
import { AuditService } from '../src/services/audit-service.js';
import { QueryAdmission } from '../src/services/query-admission.js';
import { QueryService } from '../src/services/query-service.js';
import { LocalRateLimitStore, RateLimiter } from '../src/services/rate-limiter.js';
import { defaultGuardPolicy, initSqlGuard, Planner } from '../src/sql/index.js';
import type { AuditStore, StateStore } from '../src/state/port.js';
import type { Warehouse } from '../src/warehouse/port.js';
import {
  type BenchResult,
  type LoadResult,
  load,
  median,
  result,
  serveArgs,
  startListening,
  stop,
} from './lib.js';
import type { BenchContext } from './run.js';

const SMALL_SQL =
  'SELECT sale_id, customer_id, product_id, region, quantity, amount, sold_at FROM sales LIMIT 100';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/**
 * Each variant is measured this many times for SECONDS / 3, alternating, and the median run
 * counts: short alternating runs keep background load on a shared machine from favouring one side.
 */
const ROUNDS = 6;

type Variant = 'bare' | 'observed' | 'rate-limited';

const VARIANT_ENV: Record<Variant, Record<string, string>> = {
  // Everything this issue adds that can be turned off, off.
  bare: { SPECTRA_AUDIT: 'false', SPECTRA_METRICS: 'false', SPECTRA_RATE_LIMIT_PER_MINUTE: '0' },
  // Defaults: audit trail and metrics on; rate limits off to isolate their cost.
  observed: { SPECTRA_RATE_LIMIT_PER_MINUTE: '0' },
  // Bare plus shared buckets in the state store, with a limit no run reaches.
  'rate-limited': {
    SPECTRA_AUDIT: 'false',
    SPECTRA_METRICS: 'false',
    SPECTRA_RATE_LIMIT_PER_MINUTE: '100000000',
    SPECTRA_RATE_LIMIT_STORE: 'state',
  },
};

/** CPU seconds (user + system) of a process, or null without /proc. */
function cpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of the postmaster and all its children (backends, writers). */
function clusterCpuSeconds(postmasterPid: number): number | null {
  let total = cpuSeconds(postmasterPid);
  if (total === null) return null;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(fields[1]) === postmasterPid) total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // The process ended while we looked.
    }
  }
  return total;
}

interface Run extends LoadResult {
  /** Service + PostgreSQL CPU microseconds per request; NaN without /proc. */
  cpuPerRequest: number;
}

const IN_PROCESS_REQUESTS = 5000;

/** µs per request through the Hono app, sequential, with a warehouse that answers at once. */
async function inProcessCost(rounds = 7): Promise<BenchResult[]> {
  await initSqlGuard();
  const principal: Principal = {
    tenantId: 'acme',
    dbUser: 'tenant_acme',
    dbGroups: [],
    permissions: ['query:*'],
    authMethod: 'api_key',
    credentialId: 'bench',
  };
  const warehouse = {
    execute: async (_ctx: unknown, _stmt: unknown, sink: Parameters<Warehouse['execute']>[2]) => {
      await sink.columns([{ name: 'one', type: 'INTEGER' }]);
      await sink.rows([[1]]);
      return { rowCount: 1, stoppedAtMaxRows: false, statementRef: 'bench' };
    },
  } as unknown as Warehouse;
  const state = { jobs: { create: async () => {} } } as unknown as StateStore;
  const discard: AuditStore = {
    append: async () => {},
    list: async () => ({ items: [], nextCursor: null }),
    deleteBefore: async () => 0,
  };
  const log = pino({ level: 'warn' });
  const build = (observed: boolean) => {
    const metrics = observed ? new ServiceMetrics({ version: 'bench' }) : null;
    const queries = new QueryService({
      warehouse,
      state,
      planner: new Planner(defaultGuardPolicy()),
      limits: {
        defaultRows: 100,
        maxRows: 10_000,
        defaultTimeoutSeconds: 60,
        maxTimeoutSeconds: 300,
        jobRetentionDays: 7,
      },
    });
    const operability: Operability = {
      log,
      tracer: new Tracer(null),
      accessLog: false,
      metrics,
      rateLimiter: new RateLimiter({ perMinute: 0, store: new LocalRateLimitStore() }),
      admission: new QueryAdmission({ maxConcurrent: 20, perTenant: 10, queueSize: 100, maxWaitMs: 1000 }),
      auditWriter: observed
        ? new AuditWriter({ store: discard, bufferSize: 10_000, flushIntervalMs: 1000, log })
        : null,
      auditRejectWhenFull: false,
      audit: new AuditService({ store: discard, retentionDays: 90 }),
    };
    return createApp({
      version: 'bench',
      maxBodyBytes: 1 << 20,
      authenticate: async () => principal,
      queries,
      state,
      readiness: [],
      operability,
    });
  };
  const apps = { bare: build(false), observed: build(true) };
  const init = {
    method: 'POST',
    headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT 1 AS one' }),
  };
  const run = async (app: ReturnType<typeof build>, n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const res = await app.fetch(new Request('http://bench/v1/queries', init));
      if (res.status !== 200) throw new Error(`in-process request answered ${res.status}`);
      await res.text();
    }
    return ((performance.now() - t0) * 1000) / n;
  };
  // Long warm-up: both paths fully optimised before any sample.
  for (let i = 0; i < 3; i++) for (const app of Object.values(apps)) await run(app, 1000);
  const samples: Record<keyof typeof apps, number[]> = { bare: [], observed: [] };
  for (let round = 0; round < rounds; round++) {
    for (const key of round % 2 ? (['observed', 'bare'] as const) : (['bare', 'observed'] as const)) {
      samples[key].push(await run(apps[key], IN_PROCESS_REQUESTS));
    }
  }
  return [
    result(
      'in-process HTTP layer: audit+metrics on vs off',
      'time per request',
      'µs',
      median(samples.observed),
      median(samples.bare),
      false,
    ),
  ];
}

export default async function operabilityBench(ctx: BenchContext): Promise<BenchResult[]> {
  const inProcess = await inProcessCost();
  const roles = JSON.parse(await readFile(path.join(ctx.home, 'pg', 'roles.json'), 'utf8'));
  const secrets = JSON.parse(await readFile(path.join(ctx.home, 'secrets.json'), 'utf8'));
  const postmaster = Number(
    (await readFile(path.join(ctx.home, 'pg', 'data', 'postmaster.pid'), 'utf8')).split('\n')[0],
  );
  const url = (user: { user: string; password: string }, db: string) =>
    `postgres://${encodeURIComponent(user.user)}:${encodeURIComponent(user.password)}@${ctx.pg.host}:${ctx.pg.port}/${db}`;
  const common = {
    SPECTRA_WAREHOUSE_URL: url(roles.authenticator, ctx.pg.database),
    SPECTRA_STATE_URL: url(roles.stateUser, 'spectra_control'),
    SPECTRA_API_KEY_PEPPER: secrets.apiKeyPepper,
    SPECTRA_ACCESS_LOG: 'false',
  };
  const tenant = ctx.tenants[0]!;
  const headers = { authorization: `Bearer ${tenant.api_key}` };
  const body = JSON.stringify({ sql: SMALL_SQL });

  const homes: string[] = [];
  const servers = new Map<Variant, Awaited<ReturnType<typeof startListening>>>();
  try {
    for (const variant of Object.keys(VARIANT_ENV) as Variant[]) {
      const home = await mkdtemp(path.join(os.tmpdir(), `spectra-bench-${variant}-`));
      homes.push(home);
      servers.set(
        variant,
        await startListening(process.execPath, serveArgs(home, '--no-worker'), {
          ...common,
          ...VARIANT_ENV[variant],
        }),
      );
    }
    const measure = async (variant: Variant, seconds: number, connections = 50): Promise<Run> => {
      const server = servers.get(variant)!;
      const before = [cpuSeconds(server.child.pid!), clusterCpuSeconds(postmaster)];
      const r = await load({ url: `${server.url}/v1/queries`, body, headers, connections, seconds });
      if (r.non2xx || r.errors) throw new Error(`${variant}: ${r.non2xx} non-2xx and ${r.errors} errors`);
      const after = [cpuSeconds(server.child.pid!), clusterCpuSeconds(postmaster)];
      const cpu = [0, 1].reduce((sum, i) => sum + ((after[i] ?? Number.NaN) - (before[i] ?? Number.NaN)), 0);
      return { ...r, cpuPerRequest: (cpu * 1e6) / (r.rps * seconds) };
    };
    for (const variant of servers.keys()) await measure(variant, 2, 10);
    const runs = new Map<Variant, Run[]>();
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order so each variant runs first, middle and last equally often.
      const variants = [...servers.keys()];
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      for (const variant of order) {
        const r = await measure(variant, Math.max(2, Math.round(SECONDS / 3)));
        runs.set(variant, [...(runs.get(variant) ?? []), r]);
      }
    }
    const pick = (variant: Variant, metric: keyof Run) => median(runs.get(variant)!.map((r) => r[metric]));
    const compare = (label: string, variant: Variant): BenchResult[] => {
      const name = `small query, 50 conns: ${label}`;
      return [
        result(name, 'throughput', 'req/s', pick(variant, 'rps'), pick('bare', 'rps')),
        result(name, 'p50 latency', 'ms', pick(variant, 'p50'), pick('bare', 'p50'), false),
        result(name, 'p99 latency', 'ms', pick(variant, 'p99'), pick('bare', 'p99'), false),
        result(
          name,
          'CPU/request (service+PostgreSQL)',
          'µs',
          pick(variant, 'cpuPerRequest'),
          pick('bare', 'cpuPerRequest'),
          false,
        ),
      ];
    };
    return [
      ...inProcess,
      ...compare('audit+metrics on vs off', 'observed'),
      ...compare('shared rate-limit buckets vs none', 'rate-limited'),
    ];
  } finally {
    for (const s of servers.values()) await stop(s.child);
    for (const home of homes) await rm(home, { recursive: true, force: true });
  }
}
