/**
 * Async job benchmarks (issue 5), against the bench service (`serve` without its in-process worker)
 * and `spectra worker` processes this suite starts on the same embedded PostgreSQL:
 * (a) submit → COMPLETED latency of a trivial query, one worker; baseline: the same query run sync;
 * (b) jobs/s with 3 worker processes; baseline: 1 worker process;
 * (c) async export of 1,000,000 rows: rows/s and the worker's peak RSS; baselines: a direct
 *     pg-cursor read of the same rows written as NDJSON to a file, and the idle worker's RSS;
 *     three rounds of each in alternating order (BENCH_EXPORT_ROUNDS), medians (peak RSS: the largest).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { type BenchResult, percentile, ROOT, result, stop } from './lib.js';
import type { BenchContext } from './run.js';

const TRIVIAL_SQL = 'SELECT 1 AS one';
const LATENCY_RUNS = Number(process.env.BENCH_JOB_LATENCY_RUNS ?? 300);
const THROUGHPUT_JOBS = Number(process.env.BENCH_JOBS ?? 1500);
const EXPORT_ROWS = 1_000_000;
const EXPORT_ROUNDS = Number(process.env.BENCH_EXPORT_ROUNDS ?? 3);
const EXPORT_SQL = `SELECT g AS n, md5(CAST(g AS text)) AS h, g * 0.01 AS amount FROM generate_series(1, ${EXPORT_ROWS}) AS g`;

interface Worker {
  child: ChildProcess;
}

function startWorker(home: string, concurrency: number): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['bin/spectra.js', 'worker', '--home', home, '--log-level', 'warn'],
      {
        cwd: ROOT,
        env: { ...process.env, SPECTRA_WORKER_CONCURRENCY: String(concurrency) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => {
      err = (err + d).slice(-4000);
    });
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('worker started')) resolve({ child });
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${err}`)));
  });
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => stop(w.child)));
}

async function status(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) / 1024;
}

export default async function jobsBench(ctx: BenchContext): Promise<BenchResult[]> {
  const tenant = ctx.tenants[0]!;
  const headers = { authorization: `Bearer ${tenant.api_key}`, 'content-type': 'application/json' };
  const post = (body: unknown, key = tenant.api_key) =>
    fetch(`${ctx.url}/v1/queries`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
  const getJob = async (id: string, key = tenant.api_key) =>
    (
      await fetch(`${ctx.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${key}` } })
    ).json() as Promise<{
      status: string;
      submitted_at: string;
      started_at: string;
      completed_at: string;
      execution_time_ms: number;
      error: unknown;
    }>;
  const roles = JSON.parse(await readFile(path.join(ctx.home, 'pg', 'roles.json'), 'utf8'));
  const control = new pg.Pool({ ...ctx.pg, ...roles.stateUser, database: 'spectra_control', max: 2 });
  const results: BenchResult[] = [];

  try {
    // (a) Latency, one worker. The client polls every 2 ms; the server-side figure needs no polling.
    const workers = [await startWorker(ctx.home, 4)];
    const clientMs: number[] = [];
    const serverMs: number[] = [];
    for (let i = 0; i < LATENCY_RUNS + 20; i++) {
      const t0 = performance.now();
      const { job_id: id } = (await (await post({ sql: TRIVIAL_SQL, async: true })).json()) as {
        job_id: string;
      };
      let job = await getJob(id);
      while (job.status !== 'COMPLETED') {
        if (job.status === 'FAILED') throw new Error(`job failed: ${JSON.stringify(job.error)}`);
        await new Promise((r) => setTimeout(r, 2));
        job = await getJob(id);
      }
      if (i < 20) continue;
      clientMs.push(performance.now() - t0);
      serverMs.push(Date.parse(job.completed_at) - Date.parse(job.submitted_at));
    }
    const syncMs: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      const t0 = performance.now();
      await (await post({ sql: TRIVIAL_SQL })).text();
      syncMs.push(performance.now() - t0);
    }
    results.push(
      result(
        'async job, trivial query',
        'submit→COMPLETED p50',
        'ms',
        percentile(clientMs, 50),
        percentile(syncMs, 50),
        false,
      ),
      result(
        'async job, trivial query',
        'submit→COMPLETED p99',
        'ms',
        percentile(clientMs, 99),
        percentile(syncMs, 99),
        false,
      ),
      result(
        'async job, trivial query',
        'server-side submitted→completed p50',
        'ms',
        percentile(serverMs, 50),
      ),
    );

    // (b) Throughput of the workers alone: queue a batch with no worker running, then start 1 or 3
    // worker processes and time from the first start to the last completion (server timestamps).
    await stopWorkers(workers);
    const throughput = async (processes: number): Promise<number> => {
      const ids: string[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < THROUGHPUT_JOBS) {
            const i = next++;
            const t = ctx.tenants[i % ctx.tenants.length]!;
            const res = await post(
              { sql: 'SELECT CAST(:i AS integer) AS i', params: { i }, async: true },
              t.api_key,
            );
            ids.push(((await res.json()) as { job_id: string }).job_id);
          }
        }),
      );
      const running = await Promise.all(Array.from({ length: processes }, () => startWorker(ctx.home, 4)));
      try {
        for (;;) {
          const r = await control.query(
            `SELECT count(*) FILTER (WHERE status NOT IN ('QUEUED', 'RUNNING'))::int AS done,
                    extract(epoch FROM max(completed_at) - min(started_at)) * 1000 AS span_ms
             FROM query_jobs WHERE job_id = ANY($1)`,
            [ids],
          );
          if (r.rows[0].done === ids.length) return (ids.length / Number(r.rows[0].span_ms)) * 1000;
          await new Promise((res) => setTimeout(res, 50));
        }
      } finally {
        await stopWorkers(running);
      }
    };
    const oneWorker = await throughput(1);
    const threeWorkers = await throughput(3);
    results.push(
      result(
        `${THROUGHPUT_JOBS} queued small jobs, 3 tenants`,
        '3 workers vs 1',
        'jobs/s',
        threeWorkers,
        oneWorker,
      ),
    );

    // (c) Export of 1,000,000 rows by a fresh worker process, against the driver alone writing the
    // same rows as NDJSON to a file; EXPORT_ROUNDS of each, in alternating order, medians.
    const exportOnce = async () => {
      const worker = await startWorker(ctx.home, 1);
      const pid = worker.child.pid!;
      const idleRss = await status(pid, 'VmRSS');
      try {
        const { job_id: exportId } = (await (
          await post({ sql: EXPORT_SQL, async: true, timeout_seconds: 600 })
        ).json()) as { job_id: string };
        let exportJob = await getJob(exportId);
        while (exportJob.status !== 'COMPLETED') {
          if (exportJob.status === 'FAILED')
            throw new Error(`export failed: ${JSON.stringify(exportJob.error)}`);
          await new Promise((r) => setTimeout(r, 100));
          exportJob = await getJob(exportId);
        }
        const seconds = (Date.parse(exportJob.completed_at) - Date.parse(exportJob.started_at)) / 1000;
        return { seconds, idleRss, peakRss: await status(pid, 'VmHWM') };
      } finally {
        await stopWorkers([worker]);
      }
    };
    const directOnce = async () => {
      const file = path.join(os.tmpdir(), `spectra-bench-export-${process.pid}.ndjson`);
      const direct = new pg.Client(ctx.pg);
      await direct.connect();
      const t0 = performance.now();
      try {
        await direct.query(`BEGIN; SET LOCAL ROLE "${tenant.db_user}"`);
        const cursor = direct.query(new Cursor(EXPORT_SQL));
        const out = createWriteStream(file);
        for (;;) {
          const rows = await cursor.read(2000);
          if (rows.length === 0) break;
          let text = '';
          for (const row of rows) text += `${JSON.stringify(row)}\n`;
          if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
        }
        await new Promise<void>((r) => out.end(() => r()));
        await cursor.close();
        await direct.query('COMMIT');
      } finally {
        await direct.end();
        await rm(file, { force: true });
      }
      return (performance.now() - t0) / 1000;
    };
    const exports: Awaited<ReturnType<typeof exportOnce>>[] = [];
    const directs: number[] = [];
    for (let round = 0; round < EXPORT_ROUNDS; round++) {
      if (round % 2 === 0) {
        exports.push(await exportOnce());
        directs.push(await directOnce());
      } else {
        directs.push(await directOnce());
        exports.push(await exportOnce());
      }
    }
    const exportSeconds = percentile(
      exports.map((e) => e.seconds),
      50,
    );
    const directSeconds = percentile(directs, 50);
    const peakRss = Math.max(...exports.map((e) => e.peakRss));
    const idleRss = exports[0]!.idleRss;
    results.push(
      result(
        'async export, 1,000,000 rows',
        'throughput',
        'rows/s',
        EXPORT_ROWS / exportSeconds,
        EXPORT_ROWS / directSeconds,
      ),
      result('async export, 1,000,000 rows', 'worker peak RSS', 'MB', peakRss, idleRss, false),
    );
  } finally {
    await control.end();
  }
  return results;
}
