/**
 * Bulk API benchmarks (issue 6), against the bench service (no in-process worker) and a fresh
 * `spectra worker` process per measurement, so each peak RSS (VmHWM) is that job's alone:
 *
 * (a) export 5,000,000 rows as CSV+GZIP, rows/s; baseline: a raw `COPY (…) TO STDOUT` → gzip →
 *     file pipeline in this process, same SQL, same role, same gzip level (target ratio ≥ 0.8);
 * (b) export the same rows as Parquet, rows/s (no baseline: nothing else writes Parquet here);
 * (c) import 1,000,000 rows with upsert into a table holding 500,000 of them, rows/s; baseline: raw
 *     `COPY FROM` into a typed temp table + `INSERT … ON CONFLICT DO UPDATE` into an identical
 *     table, as the same role in one transaction (target ratio ≥ 0.7);
 * and the worker's peak RSS for each (target ≤ 250 MB). Times are the job's own (started_at →
 * completed_at) against the baseline's wall time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { CURRENT_TENANT_SQL } from '../src/warehouse/embedded/bootstrap.js';
import { type BenchResult, ROOT, result, stop } from './lib.js';
import type { BenchContext } from './run.js';

const EXPORT_ROWS = Number(process.env.BENCH_BULK_EXPORT_ROWS ?? 5_000_000);
const PARQUET_ROWS = Number(process.env.BENCH_BULK_PARQUET_ROWS ?? EXPORT_ROWS);
const IMPORT_ROWS = Number(process.env.BENCH_BULK_IMPORT_ROWS ?? 1_000_000);
const GZIP_LEVEL = 6;
/** The first tenant's sales, repeated with shifted ids: 10 × 500,000 rows in the default bench home. */
const exportSql = (rows: number) =>
  `SELECT s.sale_id + g * 10000000000 AS sale_id, s.customer_id, s.product_id, s.region, s.quantity, s.amount, s.sold_at
     FROM generate_series(0, 99) AS g CROSS JOIN sales AS s LIMIT ${rows}`;
const TABLE_COLUMNS =
  "customer_id integer NOT NULL, name text, email text, region text CHECK (region IN ('APAC', 'EMEA', 'AMER')), created_at timestamptz";
const IMPORT_COLUMNS = 'customer_id, name, email, region, created_at';

function startWorker(home: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['bin/spectra.js', 'worker', '--home', home, '--log-level', 'warn'],
      {
        cwd: ROOT,
        env: { ...process.env, SPECTRA_WORKER_CONCURRENCY: '1', SPECTRA_WORKER_POLL_INTERVAL_MS: '100' },
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
      if (out.includes('worker started')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${err}`)));
  });
}

async function peakRssMb(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(text)?.[1] ?? 0) / 1024;
}

function csvRow(i: number, version: string): string {
  const region = ['APAC', 'EMEA', 'AMER'][i % 3];
  return `${i},Customer ${i} ${version},customer${i}@${version}.example,${region},2024-01-${String((i % 28) + 1).padStart(2, '0')} 10:00:00+00\n`;
}

export default async function bulkBench(ctx: BenchContext): Promise<BenchResult[]> {
  const tenant = ctx.tenants[0]!;
  const auth = { authorization: `Bearer ${tenant.api_key}` };
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${ctx.url}${p}`, {
      method,
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const out = await res.json();
    if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${JSON.stringify(out)}`);
    return out as Record<string, unknown> & { job_id: string };
  };
  /** Runs a created job in a fresh worker process: its seconds (started→completed) and peak RSS. */
  const runJob = async (
    jobId: string,
  ): Promise<{ seconds: number; rssMb: number; job: Record<string, unknown> }> => {
    const worker = await startWorker(ctx.home);
    try {
      await api('PATCH', `/v1/bulk/jobs/${jobId}`, { state: 'UploadComplete' });
      for (;;) {
        const job = await api('GET', `/v1/bulk/jobs/${jobId}`);
        if (job.state === 'Failed' || job.state === 'Aborted')
          throw new Error(`bulk job ${job.state}: ${JSON.stringify(job.error)}`);
        if (job.state === 'JobComplete') {
          const seconds = (Date.parse(String(job.completed_at)) - Date.parse(String(job.started_at))) / 1000;
          return { seconds, rssMb: await peakRssMb(worker.pid!), job };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await stop(worker);
    }
  };

  const su = JSON.parse(await readFile(path.join(ctx.home, 'pg', 'superuser.json'), 'utf8'));
  const admin = new pg.Client({ ...ctx.pg, user: su.user, password: su.password });
  await admin.connect();
  const asTenant = new pg.Client({ ...ctx.pg, options: '-c TimeZone=UTC' });
  await asTenant.connect();
  const results: BenchResult[] = [];
  const tmp = path.join(os.tmpdir(), `spectra-bulk-bench-${process.pid}`);
  const tables: string[] = [];
  try {
    // (a) CSV + GZIP export.
    const baseFile = `${tmp}-raw.csv.gz`;
    let t0 = performance.now();
    await asTenant.query(`BEGIN; SET LOCAL ROLE ${pg.escapeIdentifier(tenant.db_user)}`);
    await pipeline(
      asTenant.query(copyTo(`COPY (${exportSql(EXPORT_ROWS)}) TO STDOUT WITH (FORMAT csv, HEADER)`)),
      createGzip({ level: GZIP_LEVEL }),
      createWriteStream(baseFile),
    );
    await asTenant.query('COMMIT');
    const rawSeconds = (performance.now() - t0) / 1000;
    await rm(baseFile, { force: true });
    const csvJob = await api('POST', '/v1/bulk/jobs', {
      operation: 'query',
      query: exportSql(EXPORT_ROWS),
      content_type: 'CSV',
      compression: 'GZIP',
    });
    const csv = await runJob(csvJob.job_id);
    if (csv.job.number_records_processed !== EXPORT_ROWS)
      throw new Error(`exported ${csv.job.number_records_processed} rows`);
    results.push(
      result(
        `bulk export ${EXPORT_ROWS} rows CSV+GZIP`,
        'throughput',
        'rows/s',
        EXPORT_ROWS / csv.seconds,
        EXPORT_ROWS / rawSeconds,
      ),
      result(`bulk export ${EXPORT_ROWS} rows CSV+GZIP`, 'worker peak RSS', 'MB', csv.rssMb, 250, false),
    );

    // (b) Parquet export.
    const pqJob = await api('POST', '/v1/bulk/jobs', {
      operation: 'query',
      query: exportSql(PARQUET_ROWS),
      content_type: 'PARQUET',
    });
    const pq = await runJob(pqJob.job_id);
    results.push(
      result(`bulk export ${PARQUET_ROWS} rows Parquet`, 'throughput', 'rows/s', PARQUET_ROWS / pq.seconds),
      result(`bulk export ${PARQUET_ROWS} rows Parquet`, 'worker peak RSS', 'MB', pq.rssMb, 250, false),
    );

    // (c) Upsert import into tables holding half the keys already.
    const makeTable = async () => {
      const name = `bulk_bench_${Math.random().toString(16).slice(2, 8)}`;
      tables.push(name);
      const cur = CURRENT_TENANT_SQL;
      await admin.query(`
        CREATE TABLE public.${name} (tenant_id text NOT NULL DEFAULT spectra_rls.tenant_of(current_user), ${TABLE_COLUMNS},
          PRIMARY KEY (tenant_id, customer_id));
        ALTER TABLE public.${name} OWNER TO spectra_owner;
        ALTER TABLE public.${name} ENABLE ROW LEVEL SECURITY;
        ALTER TABLE public.${name} FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON public.${name} FOR ALL TO spectra_tenants USING (tenant_id = ${cur}) WITH CHECK (tenant_id = ${cur});
        GRANT SELECT, INSERT, UPDATE, DELETE ON public.${name} TO spectra_tenants;
        INSERT INTO public.${name} (tenant_id, ${IMPORT_COLUMNS})
          SELECT ${pg.escapeLiteral(tenant.tenant_id)}, g, 'Old ' || g, 'old' || g || '@old.example', 'EMEA', timestamptz '2020-01-01'
          FROM generate_series(1, ${IMPORT_ROWS / 2}) AS g;`);
      await admin.query(`VACUUM ANALYZE public.${name}`);
      return name;
    };
    const lines: string[] = [];
    for (let i = 1; i <= IMPORT_ROWS; i++) lines.push(csvRow(i, 'new'));
    const body = Buffer.from(lines.join(''));
    lines.length = 0;

    const baseTable = await makeTable();
    t0 = performance.now();
    // Staged as the service stages (tenant roles may not create TEMP tables): as spectra_stager.
    await asTenant.query(
      `BEGIN; SET LOCAL ROLE spectra_stager;
       CREATE TEMP TABLE bench_stage (customer_id integer, name text, email text, region text, created_at timestamptz) ON COMMIT DROP;
       GRANT SELECT, INSERT ON bench_stage TO ${pg.escapeIdentifier(tenant.db_user)};
       SET LOCAL ROLE ${pg.escapeIdentifier(tenant.db_user)}`,
    );
    await pipeline(
      Readable.from([body]),
      asTenant.query(copyFrom('COPY bench_stage FROM STDIN WITH (FORMAT csv)')),
    );
    await asTenant.query(
      `INSERT INTO public.${baseTable} (${IMPORT_COLUMNS}) SELECT ${IMPORT_COLUMNS} FROM bench_stage
       ON CONFLICT (tenant_id, customer_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
         region = EXCLUDED.region, created_at = EXCLUDED.created_at`,
    );
    await asTenant.query('COMMIT');
    const rawImportSeconds = (performance.now() - t0) / 1000;

    const svcTable = await makeTable();
    const importJob = await api('POST', '/v1/bulk/jobs', {
      operation: 'upsert',
      object: svcTable,
      external_id_field: 'customer_id',
    });
    const upload = await api('GET', `/v1/bulk/jobs/${importJob.job_id}/upload-url`);
    const header = Buffer.from(`${IMPORT_COLUMNS.replaceAll(' ', '')}\n`);
    const put = await fetch(String(upload.upload_url), {
      method: 'PUT',
      body: Buffer.concat([header, body]),
    });
    if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
    const imp = await runJob(importJob.job_id);
    if (imp.job.number_records_processed !== IMPORT_ROWS || imp.job.number_records_failed !== 0) {
      throw new Error(`import: ${JSON.stringify(imp.job)}`);
    }
    const [same] = (
      await admin.query(
        `SELECT (SELECT md5(string_agg(t::text, ',' ORDER BY customer_id)) FROM public.${baseTable} t) =
                (SELECT md5(string_agg(t::text, ',' ORDER BY customer_id)) FROM public.${svcTable} t) AS same`,
      )
    ).rows;
    if (!same.same) throw new Error('the service and the baseline loaded different rows');
    results.push(
      result(
        `bulk import ${IMPORT_ROWS} rows upsert`,
        'throughput',
        'rows/s',
        IMPORT_ROWS / imp.seconds,
        IMPORT_ROWS / rawImportSeconds,
      ),
      result(`bulk import ${IMPORT_ROWS} rows upsert`, 'worker peak RSS', 'MB', imp.rssMb, 250, false),
    );
  } finally {
    for (const t of tables) await admin.query(`DROP TABLE IF EXISTS public.${t}`).catch(() => {});
    await asTenant.end().catch(() => {});
    await admin.end().catch(() => {});
  }
  return results;
}
