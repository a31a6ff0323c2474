/**
 * Async jobs end to end (issue 5): real HTTP, the real worker in-process, real PostgreSQL, real
 * result files. Submission, polling, paging, signed downloads, cancellation, failures, isolation.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import type { FsResultStore } from '../../src/storage/fs/index.js';
import { onAwsStack } from '../helpers/aws-stack.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { adminClient } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { WAIT_TIMEOUT_MS, waitFor as waitForCondition } from '../helpers/time.js';

/** Runs until cancelled (a set-returning function in the select list streams; it never materialises). */
/** Runs for hours: 10^15 rows counted (a recursive WITH, so Redshift would run it too). */
const ENDLESS_SQL =
  'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 100000) SELECT count(*) AS n FROM s a CROSS JOIN s b CROSS JOIN s c';
const SALES_SQL = 'SELECT sale_id, region, amount, sold_at FROM sales ORDER BY sale_id';

let spectra: TestSpectra;
let control: ControlDb;
let acmeSales: number;

beforeAll(async () => {
  control = await createControlDb('jobs_e2e');
  spectra = await startSpectra({
    SPECTRA_STATE_URL: control.url,
    // No test here waits a lease out; long enough that a starved heartbeat never loses one.
    SPECTRA_JOB_LEASE_SECONDS: '10',
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
    SPECTRA_RESULT_SIZE_THRESHOLD: '20000',
    SPECTRA_TENANT_MAX_RUNNING_JOBS_OVERRIDES: 'globex=1',
  });
  await startJobWorker(spectra.core);
  const count = await json(await spectra.query('acme', { sql: 'SELECT count(*) AS n FROM sales' }));
  acmeSales = count.data[0].n;
});
afterAll(async () => {
  await spectra?.close();
  await control?.drop();
});

async function submit(tenant: string, body: Record<string, unknown>): Promise<string> {
  const res = await spectra.query(tenant, { ...body, async: true });
  const text = await res.text();
  expect(res.status, text).toBe(202);
  const out = JSON.parse(text);
  expect(out.status).toBe('QUEUED');
  expect(res.headers.get('location')).toBe(`/v1/jobs/${out.job_id}`);
  return out.job_id;
}

// biome-ignore lint/suspicious/noExplicitAny: job bodies are asserted field by field
type JobBody = any;

async function waitFor(
  tenant: string,
  jobId: string,
  statuses: string[],
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await json(await spectra.request(`/v1/jobs/${jobId}`, { tenant }));
    if (statuses.includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} is still ${job.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Active statements of a job in the warehouse (its label is in application_name). */
async function activeStatements(jobId: string): Promise<number> {
  const admin = await adminClient();
  try {
    const r = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE '%' || $1 AND state <> 'idle'`,
      [jobId],
    );
    return r.rows[0].n;
  } finally {
    await admin.end();
  }
}

const until = (check: () => Promise<boolean>) => waitForCondition(check);

describe('submission and results', () => {
  it('runs a submitted query; every row is readable page by page, in order', async () => {
    const id = await submit('acme', { sql: SALES_SQL });
    const job = await waitFor('acme', id, ['COMPLETED', 'FAILED']);
    expect(job.status, JSON.stringify(job.error)).toBe('COMPLETED');
    expect(job).toMatchObject({ async: true, row_count: acmeSales, rows_fetched: acmeSales, attempts: 1 });
    expect(job.size_bytes).toBeGreaterThan(acmeSales * 20);
    expect(Date.parse(job.result_expires_at)).toBeGreaterThan(Date.now() + 23 * 3_600_000);

    let cursor: string | null = null;
    let previous = 0;
    let rows = 0;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=4000&cursor=${encodeURIComponent(cursor)}` : '?limit=4000';
      const res = await spectra.request(`/v1/jobs/${id}/results${q}`, { tenant: 'acme' });
      expect(res.status).toBe(200);
      const page = await json(res);
      expect(page.metadata.columns).toEqual(['sale_id', 'region', 'amount', 'sold_at']);
      expect(page.metadata.column_types).toEqual(['BIGINT', 'VARCHAR', 'DECIMAL(12,2)', 'TIMESTAMP']);
      expect(page.metadata.total_row_count).toBe(acmeSales);
      expect(page.metadata.row_count).toBe(page.data.length);
      for (const r of page.data) {
        expect(r.sale_id).toBeGreaterThan(previous);
        previous = r.sale_id;
      }
      expect(typeof page.data[0].amount).toBe('string'); // DECIMAL keeps its precision
      rows += page.data.length;
      pages++;
      cursor = page.next_cursor;
    } while (cursor);
    expect(rows).toBe(acmeSales);
    expect(pages).toBe(Math.ceil(acmeSales / 4000));
  });

  it('answers the default page without limit, and rejects malformed or misaligned cursors', async () => {
    const id = await submit('globex', { sql: 'SELECT sale_id FROM sales ORDER BY sale_id', limit: 25 });
    await waitFor('globex', id, ['COMPLETED']);
    const page = await json(await spectra.request(`/v1/jobs/${id}/results`, { tenant: 'globex' }));
    expect(page.data).toHaveLength(25);
    expect(page.next_cursor).toBeNull();
    expect(page.metadata.truncated).toBe(true); // the job's own limit cut the result

    const first = await json(await spectra.request(`/v1/jobs/${id}/results?limit=10`, { tenant: 'globex' }));
    const offset = JSON.parse(Buffer.from(first.next_cursor, 'base64url').toString()).o;
    const misaligned = Buffer.from(JSON.stringify({ o: offset + 3 })).toString('base64url');
    for (const bad of ['nonsense', misaligned, Buffer.from('{"o":99999999}').toString('base64url')]) {
      const res = await spectra.request(`/v1/jobs/${id}/results?cursor=${bad}`, { tenant: 'globex' });
      expect(res.status).toBe(400);
      expect((await json(res)).error.details.field).toBe('cursor');
    }
  });

  it('rejects bad SQL at submission with 400, and records a warehouse failure with its SQLSTATE at once', async () => {
    const bad = await spectra.query('acme', { sql: 'SELEC 1', async: true });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.code).toBe('INVALID_SQL');

    const id = await submit('acme', { sql: 'SELECT 1 / (sale_id - sale_id) AS boom FROM sales' });
    const job = await waitFor('acme', id, ['FAILED', 'COMPLETED']);
    expect(job.status).toBe('FAILED');
    expect(job.error).toMatchObject({ code: 'QUERY_FAILED', details: { sqlstate: '22012' } });
    expect(job.error.message).toMatch(/division by zero/);
    expect(job.attempts).toBe(1); // permanent: not retried
    const res = await spectra.request(`/v1/jobs/${id}/results`, { tenant: 'acme' });
    expect(res.status).toBe(409);
    expect((await json(res)).error.details.status).toBe('FAILED');
  });

  it('keeps jobs to their tenant: another tenant gets 404 for the job, its results and its cancel', async () => {
    const id = await submit('acme', { sql: 'SELECT 1 AS one' });
    await waitFor('acme', id, ['COMPLETED']);
    for (const [path, method] of [
      [`/v1/jobs/${id}`, 'GET'],
      [`/v1/jobs/${id}/results`, 'GET'],
      [`/v1/jobs/${id}/results?format=csv`, 'GET'],
      [`/v1/jobs/${id}`, 'DELETE'],
    ] as const) {
      const res = await spectra.request(path, { tenant: 'globex', method });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const list = await json(await spectra.request('/v1/jobs?limit=100', { tenant: 'globex' }));
    expect(list.jobs.map((j: { job_id: string }) => j.job_id)).not.toContain(id);
  });

  it('says 404 for the results of a sync query (returned inline, never stored)', async () => {
    const sync = await json(await spectra.query('acme', { sql: 'SELECT 1 AS one' }));
    const res = await spectra.request(`/v1/jobs/${sync.job_id}/results`, { tenant: 'acme' });
    expect(res.status).toBe(404);
    expect((await json(res)).error.details.reason).toBe('not_stored');
  });
});

describe('downloads through signed URLs', () => {
  let id: string;
  let ndjsonPages: string[];
  beforeAll(async () => {
    id = await submit('initech', {
      sql: 'SELECT sale_id, region, amount FROM sales ORDER BY sale_id LIMIT 3000',
    });
    const job = await waitFor('initech', id, ['COMPLETED']);
    const page = await json(
      await spectra.request(`/v1/jobs/${id}/results?limit=10000`, { tenant: 'initech' }),
    );
    expect(page.data.length).toBe(job.row_count);
    ndjsonPages = page.data.map((r: unknown) => JSON.stringify(r));
  });

  async function descriptor(query: string) {
    const res = await spectra.request(`/v1/jobs/${id}/results?${query}`, { tenant: 'initech' });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body;
  }

  it('serves NDJSON, JSON and CSV, plain or gzip, with the rows of the result', async () => {
    const rows = ndjsonPages.length;
    const nd = await descriptor('format=ndjson');
    expect(nd).toMatchObject({ format: 'ndjson', compression: 'none', row_count: rows });
    const ndRes = await fetch(nd.download_url);
    expect(ndRes.status).toBe(200);
    expect(ndRes.headers.get('content-type')).toMatch(/ndjson/);
    const ndText = await ndRes.text();
    expect(Buffer.byteLength(ndText)).toBe(nd.size_bytes);
    expect(ndText.trimEnd().split('\n')).toEqual(ndjsonPages);

    const csv = await descriptor('format=csv');
    const csvText = await (await fetch(csv.download_url)).text();
    const lines = csvText.trimEnd().split('\r\n');
    expect(lines[0]).toBe('sale_id,region,amount');
    expect(lines).toHaveLength(rows + 1);
    const first = JSON.parse(ndjsonPages[0]!);
    expect(lines[1]).toBe(`${first.sale_id},${first.region},${first.amount}`);

    const gz = await descriptor('format=json&compression=gzip');
    expect(gz.compression).toBe('gzip');
    const gzRes = await fetch(gz.download_url);
    expect(gzRes.headers.get('content-type')).toBe('application/gzip');
    expect(gzRes.headers.get('content-disposition')).toBe(`attachment; filename="${id}.json.gz"`);
    const bytes = Buffer.from(await gzRes.arrayBuffer());
    expect(bytes.length).toBe(gz.size_bytes);
    const array = JSON.parse(gunzipSync(bytes).toString('utf8'));
    expect(array.map((r: unknown) => JSON.stringify(r))).toEqual(ndjsonPages);
  });

  // s3rver enforces expiry but not signatures (NOTES.md): S3 signatures are pinned by
  // test/unit/storage/s3-presigned-url.test.ts; here the URL is S3's own, scoped and expiring.
  if (onAwsStack()) {
    it('answers with a presigned S3 URL for the tenant’s own key that stops working when it expires', async () => {
      const d = await descriptor('format=csv');
      const url = new URL(d.download_url);
      expect(url.pathname).toMatch(new RegExp(`/initech/${id}/`));
      expect(Number(url.searchParams.get('X-Amz-Expires'))).toBe(spectra.core.config.presignedUrlExpiry);
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect((await fetch(url)).status).toBe(200);
      const key = url.pathname.slice(url.pathname.indexOf('/initech/') + 1);
      const short = await spectra.core.results.signedUrl('GET', key.replace(/^results\//, ''), 1);
      await new Promise((r) => setTimeout(r, 2100));
      const expired = await fetch(short.url);
      expect(expired.status).toBe(403);
      await expired.body?.cancel();
    });
  } else
    it('answers 403 to an altered, expired or re-targeted URL', async () => {
      const d = await descriptor('format=csv');
      const url = new URL(d.download_url);
      const tamper = (fn: (u: URL) => void) => {
        const u = new URL(url);
        fn(u);
        return u.toString();
      };
      const sig = url.searchParams.get('signature')!;
      const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      const cases = [
        tamper((u) => u.searchParams.set('signature', flipped)),
        tamper((u) => u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 3600))),
        tamper((u) => u.searchParams.delete('signature')),
        // The same signature on another key (another tenant's file) is worthless.
        tamper((u) => {
          u.pathname = u.pathname.replace('/initech/', '/acme/');
        }),
        tamper((u) => {
          u.pathname = u.pathname.replace('export.csv', 'export.json');
        }),
      ];
      const key = url.pathname.slice('/v1/downloads/'.length);
      const past = Math.floor(Date.now() / 1000) - 1;
      cases.push(`${url.origin}${(spectra.core.results as FsResultStore).signer.path('GET', key, past)}`);
      // A URL signed for PUT does not allow GET.
      const putUrl = await spectra.core.results.signedUrl('PUT', key, 60);
      cases.push(`${url.origin}${putUrl.url}`);
      for (const u of cases) {
        const res = await fetch(u);
        expect(res.status, u).toBe(403);
        expect((await json(res)).error.code).toBe('FORBIDDEN');
      }
      expect((await fetch(d.download_url)).status).toBe(200);
    });

  it('answers a large result read without cursor or limit with a download, and rejects compression on pages', async () => {
    const big = await submit('acme', {
      sql: 'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 20001) SELECT g FROM s',
    });
    await waitFor('acme', big, ['COMPLETED']);
    const res = await json(await spectra.request(`/v1/jobs/${big}/results`, { tenant: 'acme' }));
    expect(res).toMatchObject({ format: 'ndjson', compression: 'none', row_count: 20001 });
    const paged = await json(await spectra.request(`/v1/jobs/${big}/results?limit=10`, { tenant: 'acme' }));
    expect(paged.data).toEqual(Array.from({ length: 10 }, (_, i) => ({ g: i + 1 })));
    const bad = await spectra.request(`/v1/jobs/${id}/results?compression=gzip`, { tenant: 'initech' });
    expect(bad.status).toBe(400);
  });
});

describe('cancellation', () => {
  it('cancels a QUEUED job at once and refuses to cancel it twice (409)', async () => {
    // globex may run one job at a time here: its second job waits QUEUED behind an endless one.
    const blocker = await submit('globex', { sql: ENDLESS_SQL, timeout_seconds: 120 });
    await waitFor('globex', blocker, ['RUNNING']);
    const id = await submit('globex', { sql: 'SELECT 1 AS one' });
    await new Promise((r) => setTimeout(r, 300));
    expect((await json(await spectra.request(`/v1/jobs/${id}`, { tenant: 'globex' }))).status).toBe('QUEUED');
    const res = await spectra.request(`/v1/jobs/${id}`, { tenant: 'globex', method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ job_id: id, status: 'CANCELLED' });
    const again = await spectra.request(`/v1/jobs/${id}`, { tenant: 'globex', method: 'DELETE' });
    expect(again.status).toBe(409);
    expect((await json(again)).error.details.status).toBe('CANCELLED');
    const results = await spectra.request(`/v1/jobs/${id}/results`, { tenant: 'globex' });
    expect(results.status).toBe(409);
    expect(
      (await spectra.request(`/v1/jobs/${blocker}`, { tenant: 'globex', method: 'DELETE' })).status,
    ).toBe(200);
  });

  // Gone while its own 120 s limit is far off: the cancel ended it (a 2 s budget does not hold on a busy machine).
  it('cancels a RUNNING 120-second query: CANCELLED, gone from pg_stat_activity, files removed', async () => {
    const id = await submit('acme', { sql: ENDLESS_SQL, timeout_seconds: 120 });
    await waitFor('acme', id, ['RUNNING']);
    await until(async () => (await activeStatements(id)) === 1);
    const notFinished = await spectra.request(`/v1/jobs/${id}/results`, { tenant: 'acme' });
    expect(notFinished.status).toBe(409);
    expect((await json(notFinished)).error.details.status).toBe('RUNNING');

    const res = await spectra.request(`/v1/jobs/${id}`, { tenant: 'acme', method: 'DELETE' });
    expect(res.status).toBe(200);
    expect((await json(res)).status).toBe('CANCELLED');
    await until(async () => (await activeStatements(id)) === 0);
    await until(async () => (await spectra.core.results.list(`acme/${id}/`)).length === 0);
    const job = await json(await spectra.request(`/v1/jobs/${id}`, { tenant: 'acme' }));
    expect(job.status).toBe('CANCELLED');
    // The worker's slot is free again: the next job runs.
    const next = await submit('acme', { sql: 'SELECT 2 AS two' });
    expect((await waitFor('acme', next, ['COMPLETED'])).row_count).toBe(1);
    const done = await spectra.request(`/v1/jobs/${next}`, { tenant: 'acme', method: 'DELETE' });
    expect(done.status).toBe(409);
  });

  it('cancels a sync query whose client disconnects', async () => {
    const marker = 100_000_000_007;
    const sql = `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 100000) SELECT count(*) AS n FROM s a CROSS JOIN s b CROSS JOIN s c WHERE a.g <> ${marker}`;
    const controller = new AbortController();
    const pending = fetch(`${spectra.url}/v1/queries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${spectra.keys.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql, timeout_seconds: 60 }),
      signal: controller.signal,
    }).catch(() => null);
    const admin = await adminClient();
    try {
      const running = async () =>
        (
          await admin.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`,
            [String(marker)],
          )
        ).rows[0].n;
      await until(async () => (await running()) === 1);
      controller.abort();
      await pending;
      await until(async () => (await running()) === 0);
    } finally {
      await admin.end();
    }
  });
});

describe('worker metrics', () => {
  it('counts lease renewals and stored result bytes of the jobs above on /metrics', async () => {
    // A job that outlives a heartbeat: it runs until a renewal is counted, then is cancelled.
    const submitted = await json(await spectra.query('acme', { sql: ENDLESS_SQL, async: true }));
    let text = '';
    const value = (pattern: string) => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    await until(async () => {
      const res = await spectra.request('/metrics', { key: spectra.adminKey });
      expect(res.status).toBe(200);
      text = await res.text();
      return value('spectra_worker_lease_renewals_total') > 0;
    });
    await spectra.request(`/v1/jobs/${submitted.job_id}`, { tenant: 'acme', method: 'DELETE' });
    expect(value('spectra_result_bytes_total\\{sink="store"\\}')).toBeGreaterThan(0);
  });
});
