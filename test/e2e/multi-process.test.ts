/**
 * Acceptance (issue 5), cluster shape with real child processes: 2 API processes
 * (`spectra serve --no-worker`) and 3 worker processes (`spectra worker`) on one PostgreSQL.
 * 500 async jobs from 5 tenants all complete, each claimed exactly once, none visible to another
 * tenant; a worker killed with SIGKILL mid-job has its job finished elsewhere after the lease
 * expires; a RUNNING job is cancelled from an API process that does not run it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAdminKey } from '../../src/runtime/core.js';
import { ensureDemoTenants } from '../../src/runtime/demo.js';
import { loadOrCreateSecrets } from '../../src/runtime/secrets.js';
import { PostgresStateStore } from '../../src/state/postgres/index.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { adminClient, pgFacts } from '../helpers/pg-fixture.js';
import { json, pgUrl } from '../helpers/spectra.js';
import { WAIT_TIMEOUT_MS } from '../helpers/time.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const JOBS_PER_TENANT = 100;
/** A couple of seconds of warehouse work: long enough to be mid-flight when its worker is killed. */
const SLOW_SQL = 'SELECT count(*) AS n FROM (SELECT generate_series(1, 50000000) AS g) s';
const QUICK_SQL = 'SELECT CAST(:i AS integer) AS i, count(*) AS n FROM sales';
const ENDLESS_SQL = 'SELECT count(*) AS n FROM (SELECT generate_series(1, 100000000000) AS g) s';

interface Proc {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  url?: string;
  owner?: string;
}

let control: ControlDb;
let home: string;
let state: PostgresStateStore;
const apis: Proc[] = [];
const workers: Proc[] = [];
const keys: Record<string, string> = {};
let adminKey: string;
const extraTenants = [`mp${randomBytes(3).toString('hex')}a`, `mp${randomBytes(3).toString('hex')}b`];

function start(args: string[], env: Record<string, string>, ready: RegExp): Promise<Proc> {
  const f = pgFacts();
  const child = spawn(
    process.execPath,
    [
      'bin/spectra.js',
      ...args,
      '--home',
      home,
      '--warehouse-url',
      pgUrl(f.authenticator.user, f.authenticator.password, f.warehouseDb),
      '--state-url',
      control.url,
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        // Short enough to re-queue the killed worker's job soon; long enough that a starved heartbeat keeps its lease.
        SPECTRA_JOB_LEASE_SECONDS: '10',
        SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
        SPECTRA_SHUTDOWN_GRACE_SECONDS: '1',
        // 100+ requests per tenant in seconds: this test is about jobs, not rate limits.
        SPECTRA_RATE_LIMIT_PER_MINUTE: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const proc: Proc = { child, stdout: '', stderr: '' };
  child.stderr!.on('data', (d) => {
    proc.stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      proc.stdout += d;
      const m = ready.exec(proc.stdout);
      if (m) {
        if (args[0] === 'serve') proc.url = m[1];
        else proc.owner = m[1];
        resolve(proc);
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`${args[0]} exited with ${code}: ${proc.stderr.slice(-2000)}`)),
    );
  });
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await exited;
}

function call(api: Proc, pathname: string, init: { key: string; method?: string; body?: unknown }) {
  return fetch(`${api.url}${pathname}`, {
    method: init.method ?? (init.body ? 'POST' : 'GET'),
    headers: { authorization: `Bearer ${init.key}`, 'content-type': 'application/json' },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
}

async function control_query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = await adminClient(control.name);
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  const f = pgFacts();
  control = await createControlDb('multi');
  home = await mkdtemp(path.join(os.tmpdir(), 'spectra-multi-'));
  const secrets = await loadOrCreateSecrets(home);
  state = new PostgresStateStore({ connectionString: control.url, poolSize: 2 });
  await state.migrate();
  const creds = await ensureDemoTenants(state, {
    home,
    pepper: secrets.apiKeyPepper,
    tenants: f.tenants,
    adminKey: () => issueAdminKey(state, secrets.apiKeyPepper),
  });
  for (const t of creds.tenants) keys[t.tenant_id] = t.api_key;
  adminKey = creds.admin_key!;

  const adminUrl = pgUrl(f.superuser, f.superuserPassword, f.warehouseDb);
  const apiEnv = { SPECTRA_WAREHOUSE_ADMIN_URL: adminUrl };
  const started = await Promise.all([
    start(
      ['serve', '--no-worker', '--port', '0', '--log-level', 'warn'],
      apiEnv,
      /listening on (http:\/\/\S+)/,
    ),
    start(
      ['serve', '--no-worker', '--port', '0', '--log-level', 'warn'],
      apiEnv,
      /listening on (http:\/\/\S+)/,
    ),
    ...[0, 1, 2].map(() =>
      start(
        ['worker', '--log-level', 'info'],
        { SPECTRA_WORKER_CONCURRENCY: '4' },
        /worker started \(owner (\S+),/,
      ),
    ),
  ]);
  apis.push(started[0]!, started[1]!);
  workers.push(...started.slice(2));

  for (const id of extraTenants) {
    const res = await call(apis[0]!, '/v1/admin/tenants', { key: adminKey, body: { tenant_id: id } });
    expect(res.status, await res.clone().text()).toBe(201);
    keys[id] = (await json(res)).api_key;
  }
});

afterAll(async () => {
  for (const id of extraTenants) {
    if (apis[0])
      await call(apis[0], `/v1/admin/tenants/${id}`, { key: adminKey, method: 'DELETE' }).catch(() => {});
  }
  await Promise.all([...apis, ...workers].map(stop));
  await state?.close();
  await control?.drop();
  await rm(home, { recursive: true, force: true });
});

async function submit(api: Proc, tenant: string, body: Record<string, unknown>): Promise<string> {
  const res = await call(api, '/v1/queries', { key: keys[tenant]!, body: { ...body, async: true } });
  const text = await res.text();
  expect(res.status, text).toBe(202);
  return JSON.parse(text).job_id;
}

describe('2 API processes and 3 worker processes on one PostgreSQL', () => {
  it('runs 500 jobs from 5 tenants, each claimed exactly once, through a worker killed mid-job', async () => {
    const tenants = ['acme', 'globex', 'initech', ...extraTenants];
    const owned = new Map<string, string>(); // job id → tenant

    // A slow job per tenant; kill -9 a worker as soon as it holds one.
    const slow: string[] = [];
    for (const [i, t] of tenants.entries()) {
      const id = await submit(apis[i % 2]!, t, { sql: SLOW_SQL });
      slow.push(id);
      owned.set(id, t);
    }
    let victim: Proc | undefined;
    let victimJobs: string[] = [];
    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    while (!victim) {
      if (Date.now() > deadline) throw new Error('no worker claimed a slow job');
      const running = await control_query<{ job_id: string; lease_owner: string }>(
        `SELECT job_id, lease_owner FROM query_jobs WHERE status = 'RUNNING' AND job_id = ANY($1)`,
        [slow],
      );
      // Whichever worker got a slow job first is the victim: the scheduler decides who claims, not the test.
      const held = running.find((r) => workers.some((w) => w.owner === r.lease_owner));
      if (held) {
        victim = workers.find((w) => w.owner === held.lease_owner)!;
        victimJobs = running.filter((r) => r.lease_owner === victim!.owner).map((r) => r.job_id);
      } else await new Promise((r) => setTimeout(r, 20));
    }
    victim.child.kill('SIGKILL');
    await new Promise((r) => victim!.child.once('exit', r));
    // On a starved machine the snapshot above may be old: a job the victim finished before it died
    // ran once. The jobs it still held when it died are the ones another worker must run again.
    victimJobs = (
      await control_query<{ job_id: string }>(
        `SELECT job_id FROM query_jobs WHERE status = 'RUNNING' AND lease_owner = $1 AND job_id = ANY($2)`,
        [victim.owner, victimJobs],
      )
    ).map((r) => r.job_id);
    const survivors = workers.filter((w) => w !== victim);

    // 500 quick jobs: 100 per tenant, alternating between the two API processes.
    const work = tenants.flatMap((t) => Array.from({ length: JOBS_PER_TENANT }, (_, i) => ({ t, i })));
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < work.length) {
          const n = next++;
          const { t, i } = work[n]!;
          owned.set(await submit(apis[n % 2]!, t, { sql: QUICK_SQL, params: { i } }), t);
        }
      }),
    );
    expect(owned.size).toBe(tenants.length * (JOBS_PER_TENANT + 1));

    // Everything finishes; nothing is left RUNNING or QUEUED.
    await expect
      .poll(
        async () =>
          (
            await control_query<{ n: number }>(
              `SELECT count(*)::int AS n FROM query_jobs WHERE async AND status IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
            )
          )[0]!.n,
        { timeout: 240_000, interval: 250 },
      )
      .toBe(owned.size);
    const rows = await control_query<{ job_id: string; tenant_id: string; status: string; attempts: number }>(
      'SELECT job_id, tenant_id, status, attempts FROM query_jobs WHERE async',
    );
    expect(rows.filter((r) => r.status !== 'COMPLETED')).toEqual([]);
    for (const r of rows) {
      expect(owned.get(r.job_id)).toBe(r.tenant_id);
      expect(r.attempts, r.job_id).toBe(victimJobs.includes(r.job_id) ? 2 : 1);
    }

    // Claims counted in the workers' logs: every job exactly once, except that a job the victim held
    // was claimed once more by a survivor. (On a slow machine the victim may finish a slow job before
    // the test sees it holding another: that one was claimed once, by the victim.)
    await Promise.all(survivors.map(stop));
    const claimsIn = (ws: Proc[]) => {
      const claims = new Map<string, number>();
      for (const w of ws) {
        for (const line of w.stderr.split('\n')) {
          if (!line.includes('"job claimed"')) continue;
          const id = JSON.parse(line).job_id as string;
          claims.set(id, (claims.get(id) ?? 0) + 1);
        }
      }
      return claims;
    };
    const bySurvivors = claimsIn(survivors);
    const byVictim = claimsIn([victim]);
    const wrong = [...owned.keys()].filter((id) =>
      victimJobs.includes(id)
        ? bySurvivors.get(id) !== 1
        : (bySurvivors.get(id) ?? 0) + (byVictim.get(id) ?? 0) !== 1,
    );
    expect(wrong).toEqual([]);
    expect(victimJobs.length).toBeGreaterThan(0);

    // No tenant sees another's jobs, through either API process.
    for (const [i, t] of tenants.entries()) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page = await json(await call(apis[i % 2]!, `/v1/jobs?limit=100${q}`, { key: keys[t]! }));
        seen.push(...page.jobs.map((j: { job_id: string }) => j.job_id));
        cursor = page.next_cursor;
      } while (cursor);
      const mine = [...owned].filter(([, owner]) => owner === t).map(([id]) => id);
      expect(seen.sort()).toEqual(mine.sort());
      const foreign = [...owned].find(([, owner]) => owner !== t)![0];
      for (const api of apis) {
        expect((await call(api, `/v1/jobs/${foreign}`, { key: keys[t]! })).status).toBe(404);
        expect((await call(api, `/v1/jobs/${foreign}/results`, { key: keys[t]! })).status).toBe(404);
      }
    }

    // A result written by a worker process is read through either API process.
    const acmeJob = [...owned].find(([id, owner]) => owner === 'acme' && !slow.includes(id))![0];
    for (const api of apis) {
      const page = await json(await call(api, `/v1/jobs/${acmeJob}/results`, { key: keys.acme! }));
      expect(page.data).toHaveLength(1);
      expect(page.data[0].n).toBeGreaterThan(0);
    }
  }, 300_000);

  // Cancelled, not timed out: the statement's own limit is 120 s, longer than the wait for it to go.
  it('cancels a job RUNNING in a worker process from an API process: the worker stops its statement', async () => {
    if (workers.every((w) => w.child.exitCode !== null || w.child.signalCode !== null)) {
      workers.push(
        await start(
          ['worker', '--log-level', 'warn'],
          { SPECTRA_WORKER_CONCURRENCY: '2' },
          /worker started \(owner (\S+),/,
        ),
      );
    }
    const id = await submit(apis[0]!, 'globex', { sql: ENDLESS_SQL, timeout_seconds: 120 });
    const active = async () => {
      const c = await adminClient();
      try {
        const r = await c.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE '%' || $1 AND state <> 'idle'`,
          [id],
        );
        return r.rows[0].n as number;
      } finally {
        await c.end();
      }
    };
    await expect.poll(active, { timeout: WAIT_TIMEOUT_MS, interval: 20 }).toBe(1);
    const res = await call(apis[1]!, `/v1/jobs/${id}`, { key: keys.globex!, method: 'DELETE' });
    expect(res.status).toBe(200);
    expect((await json(res)).status).toBe('CANCELLED');
    await expect.poll(active, { timeout: WAIT_TIMEOUT_MS, interval: 20 }).toBe(0);
    const job = await json(await call(apis[0]!, `/v1/jobs/${id}`, { key: keys.globex! }));
    expect(job.status).toBe('CANCELLED');
  }, 150_000);
});
