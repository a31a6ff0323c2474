/**
 * Issue 18, deliverable 3: `@redshift-spectra/client` (src/client, published from packages/client)
 * against a real server: typed queries and errors, a 1,000,000-row stream in a child process whose
 * peak RSS stays far below the size of the result, an async job paged by cursor and cancelled,
 * export and import with progress callbacks, and retries of 429 with one idempotency key.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BulkJob,
  createSpectraClient,
  type RetryInfo,
  type SpectraClient,
  SpectraConnectionError,
  SpectraError,
  type TransferProgress,
} from '../../../src/client/index.js';
import { startJobWorker } from '../../../src/runtime/worker.js';
import { type ControlDb, createControlDb } from '../../helpers/control-db.js';
import { startSpectra, type TestSpectra } from '../../helpers/spectra.js';
import { createTenantTable, type TenantTable } from '../../helpers/tenant-tables.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const MILLION = 1_000_000;
/** ~150 bytes of NDJSON a row: the whole result is ~150 MB, parsed objects several times that. */
const MILLION_ROWS_SQL = `SELECT g, repeat(md5(g::text), 4) AS pad FROM generate_series(1, ${MILLION}) AS g`;
const RSS_BOUND_MB = 150;

async function text(body: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(body).text();
}

describe('against a server with a worker', () => {
  let spectra: TestSpectra;
  let control: ControlDb;
  let acme: SpectraClient;
  let scratch: string;
  const tables: TenantTable[] = [];

  beforeAll(async () => {
    control = await createControlDb('client_e2e');
    spectra = await startSpectra({
      SPECTRA_STATE_URL: control.url,
      SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
      SPECTRA_QUERY_MAX_ROWS: String(MILLION),
      SPECTRA_MAX_RESULT_BYTES: '0',
    });
    await startJobWorker(spectra.core);
    acme = createSpectraClient({ url: spectra.url, apiKey: spectra.keys.acme! });
    scratch = await mkdtemp(path.join(os.tmpdir(), 'spectra-client-'));
  });
  afterAll(async () => {
    await spectra?.close();
    await control?.drop();
    for (const t of tables) await t.drop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('query: typed rows of the caller’s tenant with their metadata', async () => {
    const result = await acme.query<{ tenant_id: string; n: number }>(
      'SELECT tenant_id, COUNT(*)::int AS n FROM sales WHERE amount >= :min GROUP BY tenant_id',
      { min: 0 },
    );
    expect(result.rows.map((r) => r.tenant_id)).toEqual(['acme']);
    expect(result.rows[0]!.n).toBeGreaterThan(0);
    expect(result.metadata).toMatchObject({ columns: ['tenant_id', 'n'], truncated: false, row_count: 1 });
    expect(result.jobId).toMatch(/^job-/);
  });

  it('errors are SpectraError with code, details and request id', async () => {
    const err = await acme.query('SELEC 1').catch((e) => e);
    expect(err).toBeInstanceOf(SpectraError);
    expect(err).toMatchObject({ code: 'INVALID_SQL', status: 400 });
    expect(err.requestId).toMatch(/\S/);
    expect(err.details).toEqual(expect.any(Object));
    const missing = await acme.jobs.get('job-does-not-exist').catch((e) => e);
    expect(missing).toMatchObject({ name: 'SpectraError', code: 'NOT_FOUND', status: 404 });
  });

  it('a server that is not there is a SpectraConnectionError naming the URL', async () => {
    const nobody = createSpectraClient({ url: 'http://127.0.0.1:9', apiKey: 'spk_x_y' });
    const err = await nobody.query('SELECT 1').catch((e) => e);
    expect(err).toBeInstanceOf(SpectraConnectionError);
    expect(err.message).toContain('http://127.0.0.1:9');
  });

  it(`stream: ${MILLION.toLocaleString('en')} rows in a child process whose peak RSS stays under ${RSS_BOUND_MB} MB`, {
    timeout: 600_000,
  }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/e2e/client/stream-child.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        SPECTRA_URL: spectra.url,
        SPECTRA_API_KEY: spectra.keys.acme!,
        SPECTRA_STREAM_SQL: MILLION_ROWS_SQL,
        SPECTRA_STREAM_LIMIT: String(MILLION),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      rows: number;
      sum: number;
      peakRssMb: number;
    };
    console.info(`client stream of ${report.rows} rows: peak RSS ${report.peakRssMb} MB`);
    expect(report.rows).toBe(MILLION);
    expect(report.sum).toBe((MILLION * (MILLION + 1)) / 2 + MILLION * 128);
    expect(report.peakRssMb).toBeLessThan(RSS_BOUND_MB);
  });

  it('stream: the response metadata, and a stop after a few rows', async () => {
    const stream = acme.stream<{ g: number }>(
      'SELECT g FROM generate_series(1, 50000) AS g',
      {},
      { limit: 50_000 },
    );
    const seen: number[] = [];
    for await (const row of stream) {
      seen.push(row.g);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(await stream.info).toMatchObject({ columns: ['g'], rowLimit: 50_000 });
  });

  it('jobs: submit, wait with progress, page the rows by cursor, list', async () => {
    const submitted = await acme.jobs.submit(
      'SELECT g FROM generate_series(1, 25000) AS g ORDER BY g',
      {},
      {
        limit: 25_000,
      },
    );
    expect(submitted.status).toBe('QUEUED');
    const seen: string[] = [];
    const job = await acme.jobs.wait(submitted.job_id, { onProgress: (j) => seen.push(j.status) });
    expect(job).toMatchObject({ status: 'COMPLETED', row_count: 25_000 });
    expect(seen.at(-1)).toBe('COMPLETED');
    let pages = 0;
    for await (const page of acme.jobs.pages(submitted.job_id, { pageSize: 10_000 })) {
      pages++;
      expect(page.data.length).toBeLessThanOrEqual(10_000);
    }
    expect(pages).toBe(3);
    let expected = 1;
    for await (const row of acme.jobs.rows<{ g: number }>(submitted.job_id, { pageSize: 7_000 })) {
      expect(row.g).toBe(expected++);
    }
    expect(expected).toBe(25_001);
    const listed: string[] = [];
    for await (const j of acme.jobs.list({ pageSize: 2 })) {
      listed.push(j.job_id);
      if (listed.length === 5) break;
    }
    expect(listed).toContain(submitted.job_id);
  });

  it('jobs: cancel stops a running job; wait then throws its status', async () => {
    const submitted = await acme.jobs.submit(
      'SELECT COUNT(*) FROM generate_series(1, 2000000000) AS a',
      {},
      { timeoutSeconds: 300 },
    );
    expect(await acme.jobs.cancel(submitted.job_id)).toEqual({
      job_id: submitted.job_id,
      status: 'CANCELLED',
    });
    const err = await acme.jobs.wait(submitted.job_id).catch((e) => e);
    expect(err).toBeInstanceOf(SpectraError);
    expect(err.code).toBe('CANCELLED');
  });

  it('bulk.export: a readable stream of the file, with job and download progress', async () => {
    const states: BulkJob['state'][] = [];
    const downloads: TransferProgress[] = [];
    const exported = await acme.bulk.export({
      query: 'SELECT sale_id, region, amount FROM sales ORDER BY sale_id',
      format: 'csv',
      onProgress: (job) => states.push(job.state),
      onDownloadProgress: (p) => downloads.push(p),
    });
    const csv = await text(exported.body);
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toBe('sale_id,region,amount');
    expect(lines.length - 1).toBe(exported.results.row_count);
    expect(states.at(-1)).toBe('JobComplete');
    expect(downloads.at(-1)).toEqual({
      bytes: exported.results.size_bytes,
      totalBytes: exported.results.size_bytes,
    });
    expect(Buffer.byteLength(csv)).toBe(exported.results.size_bytes);
  });

  it('bulk.import: from a file stream with upload progress; the bad record comes back with its error', async () => {
    const t = await createTenantTable('client', 'id integer NOT NULL, name text, score numeric(6,2)', 'id');
    tables.push(t);
    const file = path.join(scratch, 'people.csv');
    await writeFile(file, 'id,name,score\n1,Ada,10.5\n2,Bob,not-a-number\n3,Cy,7\n');
    const size = (await stat(file)).size;
    const uploads: TransferProgress[] = [];
    const { results } = await acme.bulk.import({
      table: t.name,
      operation: 'insert',
      source: createReadStream(file),
      sizeBytes: size,
      onUploadProgress: (p) => uploads.push(p),
    });
    expect(uploads.at(-1)).toEqual({ bytes: size, totalBytes: size });
    expect(results).toMatchObject({
      number_records_processed: 3,
      number_records_failed: 1,
      number_records_loaded: 2,
    });
    const failed = await text(await acme.bulk.failedRecords(results.job_id));
    expect(failed.split('\n')[0]).toBe('id,name,score,error');
    expect(failed).toContain('2,Bob,not-a-number,');
    expect(await t.admin(`SELECT id FROM public.${t.name} ORDER BY id`)).toEqual([{ id: 1 }, { id: 3 }]);
  });
});

describe('retries', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra({ SPECTRA_RATE_LIMIT_PER_MINUTE: '60', SPECTRA_RATE_LIMIT_STORE: 'local' });
  });
  afterAll(() => spectra?.close());

  it('a 429 is retried after its Retry-After with the same idempotency key, and the query answers', async () => {
    // Empty the tenant's bucket until the server refuses.
    for (let i = 0; i < 200; i++) {
      const res = await spectra.query('acme', { sql: 'SELECT 1 AS one' });
      await res.body?.cancel();
      if (res.status === 429) break;
    }
    const retries: RetryInfo[] = [];
    const keys: (string | null)[] = [];
    const client = createSpectraClient({
      url: spectra.url,
      apiKey: spectra.keys.acme!,
      retry: { maxAttempts: 10, onRetry: (r) => retries.push(r) },
      fetch: (input, init) => {
        keys.push((input as Request).headers.get('idempotency-key'));
        return fetch(input, init);
      },
    });
    const result = await client.query<{ one: number }>('SELECT 1 AS one');
    expect(result.rows).toEqual([{ one: 1 }]);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toMatchObject({ status: 429, method: 'POST' });
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(1000);
    expect(keys.length).toBe(retries.length + 1);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
  });
});
