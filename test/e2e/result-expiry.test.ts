/**
 * A result file that is gone (the bucket's lifecycle rule, the retention sweep, an operator) is
 * answered 410 RESULT_EXPIRED, never with a signed URL that then fails (issue 14, item 4). The
 * objects are deleted through the ResultStore: files on the fs stack, DeleteObject on s3rver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { bulkClient } from '../helpers/bulk.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

let control: ControlDb;
let spectra: TestSpectra;

beforeAll(async () => {
  control = await createControlDb('expiry_e2e');
  spectra = await startSpectra({
    SPECTRA_STATE_URL: control.url,
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
  });
  await startJobWorker(spectra.core);
});
afterAll(async () => {
  await spectra?.close();
  await control?.drop();
});

/** Deletes every stored file of a job, as S3's lifecycle expiry would. */
async function expireFiles(tenant: string, jobId: string): Promise<number> {
  const files = await spectra.core.results.list(`${tenant}/${jobId}/`);
  for (const f of files) await spectra.core.results.delete(f.key);
  return files.length;
}

async function expectExpired(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBe(410);
  expect(JSON.parse(text).error).toMatchObject({ code: 'RESULT_EXPIRED', details: expect.any(Object) });
}

describe('410 RESULT_EXPIRED when the file is gone', () => {
  it('an async query job: download and page', async () => {
    const submitted = await json(
      await spectra.query('acme', { sql: 'SELECT region, amount FROM sales LIMIT 50', async: true }),
    );
    const id = submitted.job_id as string;
    for (;;) {
      const job = await json(await spectra.request(`/v1/jobs/${id}`, { tenant: 'acme' }));
      if (job.status === 'COMPLETED') break;
      expect(job.status).not.toBe('FAILED');
      await new Promise((r) => setTimeout(r, 20));
    }
    const before = await spectra.request(`/v1/jobs/${id}/results?format=csv`, { tenant: 'acme' });
    expect(before.status).toBe(200);

    expect(await expireFiles('acme', id)).toBeGreaterThan(0);
    await expectExpired(await spectra.request(`/v1/jobs/${id}/results?format=csv`, { tenant: 'acme' }));
    await expectExpired(await spectra.request(`/v1/jobs/${id}/results?limit=10`, { tenant: 'acme' }));
  });

  it('a bulk export', async () => {
    const bulk = bulkClient(spectra);
    const job = await bulk.run('acme', { operation: 'query', query: 'SELECT region FROM sales LIMIT 20' });
    expect(job.state, JSON.stringify(job)).toBe('JobComplete');
    expect((await bulk.results('acme', job.job_id)).download_url).toBeTruthy();

    expect(await expireFiles('acme', job.job_id)).toBeGreaterThan(0);
    await expectExpired(await spectra.request(`/v1/bulk/jobs/${job.job_id}/results`, { tenant: 'acme' }));
  });
});
