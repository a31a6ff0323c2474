/**
 * Results of any size on the Data API (issue 14, item 1). The Data API fake enforces the Data
 * API's result cap (lowered to 64 KiB here, so the test stays small): a statement whose result is
 * over it FAILS as AWS fails it. Async query jobs and JSON/Parquet bulk exports on
 * SPECTRA_WAREHOUSE=redshift-data with SPECTRA_REDSHIFT_S3_ROLE_ARN go through UNLOAD to the
 * tenant's S3 prefix instead and download in full — the same rows as the PostgreSQL stack.
 * Without the S3 role the same async job fails with RESULT_TOO_LARGE naming the setting.
 */

import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import type { RedshiftDataFake } from '../fakes/redshift-data-fake.js';
import { bulkClient } from '../helpers/bulk.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { dataApiS3Settings, startRedshiftDataFake } from '../helpers/redshift-data.js';
import { s3Endpoint, testS3Client, uniqueBucket } from '../helpers/s3-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

const RESULT_CAP_BYTES = 64 * 1024;
const SQL = `SELECT sale_id, tenant_id, region, quantity > 2 AS big, amount, sold_at, CAST(NULL AS text) AS none,
  '' AS blank, 'say "hi", ' || chr(10) || 'naïve 日本 🎉' AS tricky FROM sales ORDER BY sale_id`;

let s3: S3Client;
let bucket: string;
let fake: RedshiftDataFake;
const controls: ControlDb[] = [];
let viaUnload: TestSpectra;
let withoutUnload: TestSpectra;
let viaPostgres: TestSpectra;

beforeAll(async () => {
  s3 = testS3Client();
  bucket = await uniqueBucket(s3, 'e2e-job-unload');
  fake = await startRedshiftDataFake({
    bulk: { s3, megabyteBytes: 64 * 1024 },
    pageRows: 1000,
    maxResultBytes: RESULT_CAP_BYTES,
  });
  const dataApiS3 = dataApiS3Settings(fake, bucket, s3Endpoint());
  const worker = { SPECTRA_WORKER_POLL_INTERVAL_MS: '200' };
  const control = async (name: string) => {
    const c = await createControlDb(name);
    controls.push(c);
    return c.url;
  };
  viaUnload = await startSpectra({
    ...worker,
    SPECTRA_STATE_URL: await control('job_unload_e2e'),
    ...dataApiS3,
    SPECTRA_REDSHIFT_UNLOAD_MAX_FILE_SIZE_MB: '5',
  });
  const { SPECTRA_REDSHIFT_S3_ROLE_ARN: _noRole, ...pagedOnly } = dataApiS3;
  withoutUnload = await startSpectra({
    ...worker,
    SPECTRA_STATE_URL: await control('job_unload_e2e_paged'),
    ...pagedOnly,
  });
  viaPostgres = await startSpectra({ ...worker, SPECTRA_STATE_URL: await control('job_unload_e2e_pg') });
  for (const s of [viaUnload, withoutUnload, viaPostgres]) await startJobWorker(s.core);
});
afterAll(async () => {
  for (const s of [viaUnload, withoutUnload, viaPostgres]) await s?.close();
  await fake?.stop();
  for (const c of controls) await c.drop();
  s3?.destroy();
});

async function finished(spectra: TestSpectra, tenant: string, id: string) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const job = await json(await spectra.request(`/v1/jobs/${id}`, { tenant }));
    if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ndjsonOf(spectra: TestSpectra, tenant: string, id: string): Promise<string> {
  const d = await json(await spectra.request(`/v1/jobs/${id}/results?format=ndjson`, { tenant }));
  const res = await fetch(d.download_url);
  expect(res.status).toBe(200);
  return res.text();
}

describe('async results over the Data API result cap', () => {
  it('the stand-in refuses a result over its cap: a sync query is 413 RESULT_TOO_LARGE', async () => {
    const res = await viaUnload.query('globex', { sql: SQL });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(413);
    expect(body.error).toMatchObject({
      code: 'RESULT_TOO_LARGE',
      details: { reason: 'data_api_result_cap', setting: 'SPECTRA_REDSHIFT_S3_ROLE_ARN' },
    });
  });

  it('an async job completes through UNLOAD and downloads in full, as on PostgreSQL', async () => {
    const [a, b] = await Promise.all(
      [viaUnload, viaPostgres].map(async (s) => json(await s.query('globex', { sql: SQL, async: true }))),
    );
    const [ja, jb] = await Promise.all([
      finished(viaUnload, 'globex', a.job_id),
      finished(viaPostgres, 'globex', b.job_id),
    ]);
    expect(ja, JSON.stringify(ja)).toMatchObject({ status: 'COMPLETED', row_count: jb.row_count });
    const [ra, rb] = await Promise.all([
      ndjsonOf(viaUnload, 'globex', a.job_id),
      ndjsonOf(viaPostgres, 'globex', b.job_id),
    ]);
    expect(Buffer.byteLength(ra)).toBeGreaterThan(4 * RESULT_CAP_BYTES);
    expect(ra).toBe(rb);
    expect(ra.split('\n')[0]).toContain('"tricky":"say \\"hi\\", \\nnaïve 日本 🎉"');

    const run = fake.statementsRun().filter((s) => s.sql.includes(`results/globex/`));
    expect(run.at(-1)).toMatchObject({ status: 'FINISHED', dbUser: 'tenant_globex' });
    expect(run.at(-1)!.sql).toMatch(/^UNLOAD/);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'results/globex/' }));
    expect((left.Contents ?? []).filter((o) => o.Key!.includes('/unload-'))).toEqual([]);
  });

  it('without SPECTRA_REDSHIFT_S3_ROLE_ARN the same job fails with RESULT_TOO_LARGE naming it', async () => {
    const submitted = await json(await withoutUnload.query('globex', { sql: SQL, async: true }));
    const job = await finished(withoutUnload, 'globex', submitted.job_id);
    expect(job).toMatchObject({
      status: 'FAILED',
      error: { code: 'RESULT_TOO_LARGE' },
    });
    expect(job.error.message).toContain('SPECTRA_REDSHIFT_S3_ROLE_ARN');
  });

  it('JSON and Parquet bulk exports come from the unloaded parts, same bytes as on PostgreSQL', async () => {
    for (const body of [
      { operation: 'query', query: SQL, content_type: 'JSON' },
      { operation: 'query', query: SQL, content_type: 'JSON', json_format: 'ARRAY', compression: 'GZIP' },
      { operation: 'query', query: SQL, content_type: 'PARQUET' },
    ]) {
      const [a, b] = await Promise.all([
        bulkClient(viaUnload).run('globex', body),
        bulkClient(viaPostgres).run('globex', body),
      ]);
      expect(a, JSON.stringify(a)).toMatchObject({
        state: 'JobComplete',
        number_records_processed: b.number_records_processed,
      });
      const [da, db] = await Promise.all([
        bulkClient(viaUnload).download('globex', a.job_id),
        bulkClient(viaPostgres).download('globex', b.job_id),
      ]);
      expect(da.results.columns).toEqual(db.results.columns);
      expect(da.bytes.equals(db.bytes), `${body.content_type} ${body.json_format ?? ''}`).toBe(true);
    }
    const unloads = fake.statementsRun().filter((s) => s.sql.startsWith('UNLOAD'));
    expect(unloads.length).toBeGreaterThanOrEqual(3);
  });
});
