/**
 * Bulk API imports with SPECTRA_WAREHOUSE=redshift-data, SPECTRA_STORAGE=s3 and
 * SPECTRA_REDSHIFT_S3_ROLE_ARN set (state: PostgreSQL): the uploaded CSV (gzip) is checked by the
 * worker, staged to s3rver and loaded by COPY + INSERT/MERGE/UPDATE/DELETE in Data API batches (the
 * fake) as the tenant; counts, the failed-results CSV and the rows the tenant sees afterwards.
 */
import { gzipSync } from 'node:zlib';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvRecordSplitter, csvFieldValues } from '../../src/formats/csv-records.js';
import { startJobWorker } from '../../src/runtime/worker.js';
import type { RedshiftDataFake } from '../fakes/redshift-data-fake.js';
import { bulkClient } from '../helpers/bulk.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { dataApiS3Settings, startRedshiftDataFake } from '../helpers/redshift-data.js';
import { s3Endpoint, testS3Client, uniqueBucket } from '../helpers/s3-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { createTenantTable, type TenantTable } from '../helpers/tenant-tables.js';

const PEOPLE = 'id integer NOT NULL, name varchar(10), score numeric(6,2), seen timestamptz';

let s3: S3Client;
let bucket: string;
let fake: RedshiftDataFake;
let control: ControlDb;
let spectra: TestSpectra;
const tables: TenantTable[] = [];

beforeAll(async () => {
  s3 = testS3Client();
  bucket = await uniqueBucket(s3, 'e2e-import');
  fake = await startRedshiftDataFake({ bulk: { s3 }, pageRows: 50 });
  const dataApiS3 = dataApiS3Settings(fake, bucket, s3Endpoint());
  control = await createControlDb('bulk_import_rsd_e2e');
  spectra = await startSpectra({
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
    SPECTRA_TENANT_MAX_RUNNING_JOBS: '20',
    SPECTRA_STATE_URL: control.url,
    ...dataApiS3,
  });
  await startJobWorker(spectra.core);
});
afterAll(async () => {
  await spectra?.close();
  await fake?.stop();
  await control?.drop();
  for (const t of tables) await t.drop();
  s3?.destroy();
});

function parseCsv(text: string): (string | null)[][] {
  const s = new CsvRecordSplitter(',');
  return [...s.push(Buffer.from(text)), ...s.end()].map((r) => csvFieldValues(r.bytes, ','));
}

describe('Bulk API import on the Data API warehouse', () => {
  it('CSV + GZIP insert then update: loaded as the tenant through COPY, failures reported, staging gone', async () => {
    const t = await createTenantTable('rsd', PEOPLE, 'id');
    tables.push(t);
    await t.admin(`INSERT INTO public.${t.name} (tenant_id, id, name) VALUES ('globex', 1, 'theirs')`);
    const bulk = bulkClient(spectra);
    const csv =
      'id,name,score,seen\n1,Ada,1.5,2024-01-01T00:00:00Z\n2,"Bob, Jr.",,\nthree,Cy,3,\n4,Way too long,4,\n1,Dup,1,\n5,,,\n';
    const ins = await bulk.run(
      'acme',
      { operation: 'insert', object: t.name, compression: 'GZIP' },
      gzipSync(csv),
    );
    expect(ins, JSON.stringify(ins)).toMatchObject({
      state: 'JobComplete',
      number_records_processed: 6,
      number_records_failed: 3,
    });
    expect(await bulk.results('acme', ins.job_id)).toMatchObject({ number_records_loaded: 3 });
    expect(parseCsv(await bulk.failedResults('acme', ins.job_id))).toEqual([
      ['id', 'name', 'score', 'seen', 'error'],
      ['three', 'Cy', '3', null, 'id: invalid input syntax for type integer: "three"'],
      ['4', 'Way too long', '4', null, 'name: value too long for type character varying(10) (12 bytes)'],
      ['1', 'Dup', '1', null, 'id 1 appears more than once in the file (first in record 1)'],
    ]);

    const upd = await bulk.run(
      'acme',
      { operation: 'update', object: t.name, external_id_field: 'id' },
      'id,score\n2,2.25\n9,9\n',
    );
    expect(upd).toMatchObject({
      state: 'JobComplete',
      number_records_processed: 2,
      number_records_failed: 1,
    });
    expect(parseCsv(await bulk.failedResults('acme', upd.job_id))).toEqual([
      ['id', 'score', 'error'],
      ['9', '9', 'no row with id 9'],
    ]);

    // What the tenant sees through the Query API (RLS: globex's row is not there).
    const seen = await json(
      await spectra.query('acme', { sql: `SELECT id, name, score FROM ${t.name} ORDER BY id` }),
    );
    expect(seen.data).toEqual([
      { id: 1, name: 'Ada', score: '1.50' },
      { id: 2, name: 'Bob, Jr.', score: '2.25' },
      { id: 5, name: null, score: null },
    ]);
    expect(
      await t.admin(`SELECT tenant_id, count(*)::int AS n FROM public.${t.name} GROUP BY 1 ORDER BY 1`),
    ).toEqual([
      { tenant_id: 'acme', n: 3 },
      { tenant_id: 'globex', n: 1 },
    ]);
    const batches = fake.statementsRun().filter((s) => !s.id.includes(':') && s.sql.includes(t.name));
    expect(batches.length).toBeGreaterThanOrEqual(4);
    expect(batches.every((b) => b.dbUser === 'tenant_acme')).toBe(true);
    expect(batches.find((b) => b.sql.includes(`/acme/${ins.job_id}/copy-`))).toBeDefined();
    const left = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `results/acme/${ins.job_id}/` }),
    );
    expect((left.Contents ?? []).map((o) => o.Key!).filter((k) => k.includes('/copy-'))).toEqual([]);
  });
});
