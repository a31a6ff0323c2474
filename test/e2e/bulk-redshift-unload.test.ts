/**
 * Bulk API exports with SPECTRA_WAREHOUSE=redshift-data and SPECTRA_REDSHIFT_S3_ROLE_ARN set: the
 * worker's CSV export goes through UNLOAD (the Data API fake writes the parts to s3rver), the
 * parts come back from S3 into the result file (SPECTRA_STORAGE=s3), and the downloaded CSV is
 * byte for byte what the PostgreSQL stack exports for the same query and tenant. State: PostgreSQL.
 */

import { gunzipSync } from 'node:zlib';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import type { RedshiftDataFake } from '../fakes/redshift-data-fake.js';
import { bulkClient } from '../helpers/bulk.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { adminClient } from '../helpers/pg-fixture.js';
import { dataApiS3Settings, startRedshiftDataFake } from '../helpers/redshift-data.js';
import { s3Endpoint, testS3Client, uniqueBucket } from '../helpers/s3-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { waitFor } from '../helpers/time.js';

const EXPORT_SQL = `SELECT sale_id, tenant_id, region, quantity > 2 AS big, CAST(NULL AS text) AS none, '' AS blank,
  'say "hi", ' || chr(10) || 'naïve 日本 🎉' AS tricky FROM sales ORDER BY sale_id`;

let s3: S3Client;
let bucket: string;
let fake: RedshiftDataFake;
let control: ControlDb;
let controlPg: ControlDb;
let viaUnload: TestSpectra;
let viaPostgres: TestSpectra;

beforeAll(async () => {
  s3 = testS3Client();
  bucket = await uniqueBucket(s3, 'e2e-unload');
  // 5 "MB" parts are 320 KiB in the fake: a tenant's sales rows (1–2 MB of CSV) make several parts.
  fake = await startRedshiftDataFake({ bulk: { s3, megabyteBytes: 64 * 1024 }, pageRows: 1000 });
  const dataApiS3 = dataApiS3Settings(fake, bucket, s3Endpoint());
  control = await createControlDb('bulk_unload_e2e');
  controlPg = await createControlDb('bulk_unload_e2e_pg');
  const worker = { SPECTRA_WORKER_POLL_INTERVAL_MS: '200', SPECTRA_TENANT_MAX_RUNNING_JOBS: '20' };
  viaUnload = await startSpectra({
    ...worker,
    SPECTRA_STATE_URL: control.url,
    ...dataApiS3,
    SPECTRA_REDSHIFT_UNLOAD_MAX_FILE_SIZE_MB: '5',
  });
  viaPostgres = await startSpectra({ ...worker, SPECTRA_STATE_URL: controlPg.url });
  await startJobWorker(viaUnload.core);
  await startJobWorker(viaPostgres.core);
});
afterAll(async () => {
  await viaUnload?.close();
  await viaPostgres?.close();
  await fake?.stop();
  await control?.drop();
  await controlPg?.drop();
  s3?.destroy();
});

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

describe('Bulk API export through UNLOAD', () => {
  it('CSV + GZIP: the worker unloads as the tenant, streams the parts into the result, rows match PostgreSQL', async () => {
    const body = { operation: 'query', query: EXPORT_SQL, compression: 'GZIP' };
    const [a, b] = await Promise.all([
      bulkClient(viaUnload).run('globex', body),
      bulkClient(viaPostgres).run('globex', body),
    ]);
    const admin = await adminClient();
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM sales WHERE tenant_id = 'globex'");
    await admin.end();
    const tenantRows = rows[0].n as number;
    expect(a, JSON.stringify(a)).toMatchObject({
      state: 'JobComplete',
      number_records_processed: tenantRows,
    });
    expect(b).toMatchObject({ state: 'JobComplete', number_records_processed: tenantRows });
    const [da, db] = await Promise.all([
      bulkClient(viaUnload).download('globex', a.job_id),
      bulkClient(viaPostgres).download('globex', b.job_id),
    ]);
    expect(new URL(da.results.download_url).origin).toBe(s3Endpoint());
    const csv = gunzipSync(da.bytes).toString('utf8');
    expect(csv).toBe(gunzipSync(db.bytes).toString('utf8'));
    expect(da.results).toMatchObject({ format: 'CSV', compression: 'GZIP', row_count: tenantRows });
    expect(da.results.columns).toEqual(db.results.columns);
    expect(Buffer.byteLength(csv)).toBeGreaterThan(2 * 5 * 64 * 1024); // three parts or more
    const lines = csv.split('\n');
    expect(lines[0]).toBe('sale_id,tenant_id,region,big,none,blank,tricky');
    expect(lines[1]).toMatch(/^\d+,globex,[^,]*,(true|false),,"","say ""hi"", $/);

    const unloads = fake.statementsRun().filter((s) => s.sql.startsWith('UNLOAD'));
    expect(unloads.at(-1)).toMatchObject({ status: 'FINISHED', dbUser: 'tenant_globex' });
    expect(unloads.at(-1)!.sql).toContain(`'s3://${bucket}/results/globex/${a.job_id}/unload-`);
    // Only the result file is left under the job's prefix: the staged parts and manifest are gone.
    expect((await keysUnder(`results/globex/${a.job_id}/`)).filter((k) => k.includes('/unload-'))).toEqual(
      [],
    );
  });

  it('pipe delimiter and CRLF records come out as on PostgreSQL', async () => {
    const body = {
      operation: 'query',
      query: `${EXPORT_SQL} LIMIT 50`,
      column_delimiter: 'PIPE',
      line_ending: 'CRLF',
    };
    const [a, b] = await Promise.all([
      bulkClient(viaUnload).run('acme', body),
      bulkClient(viaPostgres).run('acme', body),
    ]);
    expect(a, JSON.stringify(a)).toMatchObject({ state: 'JobComplete', number_records_processed: 50 });
    const [da, db] = await Promise.all([
      bulkClient(viaUnload).download('acme', a.job_id),
      bulkClient(viaPostgres).download('acme', b.job_id),
    ]);
    expect(da.bytes.toString('utf8')).toBe(db.bytes.toString('utf8'));
    expect(da.bytes.toString('utf8')).toContain('"say ""hi"", \nnaïve 日本 🎉"\r\n');
    expect(fake.statementsRun().some((st) => st.sql.includes(`/acme/${a.job_id}/unload-`))).toBe(true);
  });

  it('Aborted while UNLOAD runs cancels the statement and leaves no staging object', async () => {
    const bulk = bulkClient(viaUnload);
    const job = await bulk.create('initech', {
      operation: 'query',
      // 3,000,000 rows (3,000 x 1,000) from a recursive WITH: Redshift has no generate_series.
      query: `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 3000)
        SELECT (a.g - 1) * 1000 + b.g AS n, md5(CAST((a.g - 1) * 1000 + b.g AS text)) AS h
        FROM s AS a CROSS JOIN s AS b WHERE b.g <= 1000`,
    });
    expect((await bulk.patch('initech', job.job_id, 'UploadComplete')).status).toBe(200);
    const unload = await waitFor(
      () =>
        fake
          .statementsRun()
          .find((s) => s.sql.includes(`/initech/${job.job_id}/unload-`) && s.status === 'STARTED'),
      { what: 'the UNLOAD to start' },
    );
    const aborted = await json(await bulk.patch('initech', job.job_id, 'Aborted'));
    expect(aborted.state).toBe('Aborted');
    const status = () => fake.statementsRun().find((s) => s.id === unload.id)?.status;
    await waitFor(() => status() !== 'STARTED');
    expect(status()).toBe('ABORTED');
    await waitFor(async () => (await keysUnder(`results/initech/${job.job_id}/`)).length === 0, {
      what: 'the staging objects to be deleted',
    });
  });
});
