/**
 * The service with SPECTRA_STORAGE=s3 (s3rver) end to end: an async job's rows go to the bucket
 * under the tenant's prefix, pages are read back from S3, and a download is a presigned S3 URL the
 * client fetches from S3 itself (the API serves no `/v1/downloads/` then). Warehouse and state: the
 * test PostgreSQL.
 */
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { S3ResultStore } from '../../src/storage/s3/index.js';
import { S3RVER_CREDENTIALS, s3Endpoint, testS3Client, uniqueBucket } from '../helpers/s3-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { WAIT_TIMEOUT_MS } from '../helpers/time.js';

let spectra: TestSpectra;
let bucket: string;

beforeAll(async () => {
  const admin = testS3Client();
  bucket = await uniqueBucket(admin, 'e2e');
  admin.destroy();
  // The SDK's standard endpoint override and credentials, as `spectra serve` against s3rver uses them.
  process.env.AWS_ENDPOINT_URL_S3 = s3Endpoint();
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  spectra = await startSpectra({
    SPECTRA_STORAGE: 's3',
    SPECTRA_AWS_REGION: 'us-east-1',
    SPECTRA_S3_BUCKET_NAME: bucket,
    SPECTRA_S3_PREFIX: 'e2e/results/',
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
  });
  await startJobWorker(spectra.core);
});
afterAll(async () => {
  await spectra?.close();
});

async function completedJob(tenant: string, sql: string): Promise<string> {
  const res = await spectra.query(tenant, { sql, async: true });
  expect(res.status, await res.clone().text()).toBe(202);
  const { job_id: jobId } = await json(res);
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  let job = await json(await spectra.request(`/v1/jobs/${jobId}`, { tenant }));
  while (!['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    job = await json(await spectra.request(`/v1/jobs/${jobId}`, { tenant }));
  }
  expect(job.status, JSON.stringify(job)).toBe('COMPLETED');
  return jobId;
}

describe('SPECTRA_STORAGE=s3', () => {
  it('stores an async job’s rows under the tenant’s prefix and pages them back from S3', async () => {
    expect(spectra.core.results).toBeInstanceOf(S3ResultStore);
    const jobId = await completedJob('acme', 'SELECT g AS n FROM generate_series(1, 25) g ORDER BY g');
    const keys = (await spectra.core.results.list(`acme/${jobId}/`)).map((o) => o.key);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.startsWith(`acme/${jobId}/`))).toBe(true);

    const first = await json(await spectra.request(`/v1/jobs/${jobId}/results?limit=10`, { tenant: 'acme' }));
    expect(first.data).toEqual(Array.from({ length: 10 }, (_, i) => ({ n: i + 1 })));
    const rest = await json(
      await spectra.request(`/v1/jobs/${jobId}/results?limit=100&cursor=${first.next_cursor}`, {
        tenant: 'acme',
      }),
    );
    expect(rest.data).toEqual(Array.from({ length: 15 }, (_, i) => ({ n: i + 11 })));
  });

  it('answers a download with a presigned S3 URL that serves the file', async () => {
    const jobId = await completedJob('acme', 'SELECT 1 AS id, $$anvil$$ AS name');
    const res = await spectra.request(`/v1/jobs/${jobId}/results?format=csv`, { tenant: 'acme' });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    const url = new URL(body.download_url);
    expect(url.origin).toBe(s3Endpoint());
    expect(url.pathname).toBe(`/${bucket}/e2e/results/acme/${jobId}/${url.pathname.split('/').pop()}`);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const file = await fetch(url);
    expect(file.status).toBe(200);
    expect((await file.text()).trimEnd().split('\r\n')).toEqual(['id,name', '1,anvil']);
    // The API does not serve result files in this mode: no signed-URL route, so the path wants credentials.
    const local = await fetch(`${spectra.url}/v1/downloads/acme/${jobId}/export.csv?expires=1&signature=x`);
    expect(local.status).toBe(401);
    await local.body?.cancel();
  });

  it('writes a Parquet download to the bucket and presigns it, with the Parquet media type', async () => {
    const jobId = await completedJob(
      'acme',
      'SELECT g AS n, $$r$$ || g AS name FROM generate_series(1, 3000) g ORDER BY g',
    );
    const res = await spectra.request(`/v1/jobs/${jobId}/results?format=parquet`, { tenant: 'acme' });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ format: 'parquet', row_count: 3000 });
    const url = new URL(body.download_url);
    expect(url.origin).toBe(s3Endpoint());
    expect(url.pathname).toBe(`/${bucket}/e2e/results/acme/${jobId}/export.parquet`);
    const file = await fetch(url);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const t = arrow.tableFromIPC(
      parquet.readParquet(new Uint8Array(await file.arrayBuffer())).intoIPCStream(),
    );
    expect(t.numRows).toBe(3000);
    expect(t.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['n:Int32', 'name:Utf8']);
    expect([t.getChild('n')!.get(2999), t.getChild('name')!.get(2999)]).toEqual([3000, 'r3000']);
  });
});
