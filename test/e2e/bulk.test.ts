/**
 * Bulk API end to end (issue 6), lifecycle and exports: real HTTP, the worker in-process, real
 * PostgreSQL and result files. Validation at creation (SQL guard, catalog, privileges), the state
 * machine, listing, uploads through signed URLs, idempotent creation, and exports as CSV (each
 * delimiter, CRLF), NDJSON, JSON array and Parquet, with gzip, SHA-256, moving counters, row-level
 * security, and Aborted stopping the warehouse work and removing files.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { onAwsStack } from '../helpers/aws-stack.js';
import { type Body, bulkClient } from '../helpers/bulk.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { adminClient } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { createTenantTable, type TenantTable } from '../helpers/tenant-tables.js';
import { waitFor } from '../helpers/time.js';

/** A couple of seconds of rows: long enough to watch it run, and to abort it (2,500 x 1,000; Redshift has no generate_series). */
const BIG_SQL = `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 2500)
  SELECT (a.g - 1) * 1000 + b.g AS n, md5(CAST((a.g - 1) * 1000 + b.g AS text)) AS h
  FROM s AS a CROSS JOIN s AS b WHERE b.g <= 1000`;
const EDGE_SQL = `SELECT * FROM (VALUES
  (1, 'plain', CAST(NULL AS text), true, CAST(1.50 AS numeric(6,2))),
  (2, 'with,comma|pipe' || chr(9) || 'tab', '', false, CAST(-2 AS numeric(6,2))),
  (3, 'say "hi"', 'line1' || chr(10) || 'line2', NULL, NULL),
  (4, 'naïve – 日本 🎉', 'x', true, CAST(0 AS numeric(6,2)))) AS v(id, s, t, b, amount) ORDER BY id`;

let spectra: TestSpectra;
let control: ControlDb;
let table: TenantTable;
let bulk: ReturnType<typeof bulkClient>;

beforeAll(async () => {
  control = await createControlDb('bulk_e2e');
  spectra = await startSpectra({
    SPECTRA_STATE_URL: control.url,
    SPECTRA_JOB_LEASE_SECONDS: '2',
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
    SPECTRA_BULK_MAX_FILE_SIZE_MB: '1',
    SPECTRA_TENANT_MAX_RUNNING_JOBS: '20',
  });
  await startJobWorker(spectra.core);
  bulk = bulkClient(spectra);
  table = await createTenantTable('e2e', 'id integer NOT NULL, name text', 'id');
});
afterAll(async () => {
  await spectra?.close();
  await control?.drop();
  await table?.drop();
});

const error = async (res: Response) => {
  const body = await json(res);
  return {
    status: res.status,
    code: body.error?.code,
    message: body.error?.message,
    details: body.error?.details,
  };
};

describe('creating bulk jobs', () => {
  it('answers 201 with Location, an export already queued (UploadComplete); the SQL guard and the catalog decide at once', async () => {
    const res = await spectra.request('/v1/bulk/jobs', {
      tenant: 'acme',
      body: { operation: 'query', query: 'SELECT region, count(*) AS n FROM sales GROUP BY region' },
    });
    const job = await json(res);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v1/bulk/jobs/${job.job_id}`);
    expect(job).toMatchObject({
      job_id: expect.stringMatching(/^bulk-[0-9a-f]{16}$/),
      state: 'UploadComplete',
      operation: 'query',
      object: null,
      content_type: 'CSV',
      compression: 'NONE',
      job_type: 'V2Query',
      number_records_processed: 0,
    });
    expect(Date.parse(job.created_at)).not.toBeNaN();

    const bad = async (body: Record<string, unknown>) =>
      error(await spectra.request('/v1/bulk/jobs', { tenant: 'acme', body }));
    expect(await bad({ operation: 'query' })).toMatchObject({ status: 400, details: { field: 'query' } });
    expect(await bad({ operation: 'QUERY', query: 'SELECT 1' })).toMatchObject({
      status: 400,
      details: { field: 'operation' },
    });
    expect(await bad({ operation: 'query', query: 'SELECT 1', color: 'red' })).toMatchObject({
      status: 400,
      details: { field: 'color' },
    });
    expect(await bad({ operation: 'query', query: 'DELETE FROM sales' })).toMatchObject({
      status: 400,
      code: 'SQL_BLOCKED',
    });
    expect(await bad({ operation: 'query', query: 'SELECT * FROM sales WHERE region = :r' })).toMatchObject({
      status: 400,
    });
    expect(
      await bad({ operation: 'query', query: 'SELECT 1', content_type: 'PARQUET', compression: 'GZIP' }),
    ).toMatchObject({
      status: 400,
      details: { field: 'compression' },
    });
    expect(await bad({ operation: 'insert' })).toMatchObject({ status: 400, details: { field: 'object' } });
    expect(await bad({ operation: 'upsert', object: table.name })).toMatchObject({
      status: 400,
      details: { field: 'external_id_field' },
    });
    expect(await bad({ operation: 'upsert', object: table.name, external_id_field: 'name' })).toMatchObject({
      status: 400,
      message: `external_id_field "name" is not a unique key of public.${table.name} (unique keys: (tenant_id, id))`,
    });
    expect(await bad({ operation: 'insert', object: 'no_such_table' })).toMatchObject({
      status: 400,
      details: { field: 'object' },
    });
    expect(await bad({ operation: 'insert', object: 'customers; DROP TABLE sales' })).toMatchObject({
      status: 400,
    });
    // Write permission comes from the database: tenants may read sales but not write it.
    expect(await bad({ operation: 'insert', object: 'sales' })).toEqual({
      status: 403,
      code: 'FORBIDDEN',
      message: 'permission denied: role tenant_acme lacks the INSERT privilege on table public.sales',
      details: { privilege: 'INSERT', table: 'public.sales', operation: 'insert' },
    });
  });

  it('replays a POST with the same idempotency key instead of creating a second job', async () => {
    const body = { operation: 'query', query: 'SELECT 1 AS one' };
    const headers = { 'x-idempotency-key': `bulk-${Date.now()}` };
    const a = await spectra.request('/v1/bulk/jobs', { tenant: 'acme', body, headers });
    const b = await spectra.request('/v1/bulk/jobs', { tenant: 'acme', body, headers });
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect((await json(b)).job_id).toBe((await json(a)).job_id);
  });
});

describe('the state machine', () => {
  it('runs an export UploadComplete → InProgress → JobComplete from its creation; PATCH UploadComplete is a no-op, other moves 409', async () => {
    const job = await bulk.create('acme', { operation: 'query', query: 'SELECT 1 AS one' });
    expect(job.state).toBe('UploadComplete');
    // The original's clients still PATCH UploadComplete: the job is answered as it is.
    const start = await bulk.patch('acme', job.job_id, 'UploadComplete');
    expect(start.status).toBe(200);
    expect(['UploadComplete', 'InProgress', 'JobComplete']).toContain((await json(start)).state);
    const done = await bulk.waitFor('acme', job.job_id, ['JobComplete']);
    expect(done).toMatchObject({ number_records_processed: 1, attempts: 1, error: null });
    const again = await bulk.patch('acme', job.job_id, 'UploadComplete');
    expect(again.status).toBe(200);
    expect((await json(again)).state).toBe('JobComplete');
    expect(await error(await bulk.patch('acme', job.job_id, 'Aborted'))).toMatchObject({
      status: 409,
      code: 'CONFLICT',
      details: { state: 'JobComplete' },
    });
    expect(await error(await bulk.patch('acme', job.job_id, 'InProgress'))).toMatchObject({ status: 400 });
    // Another tenant's job does not exist for the caller.
    expect((await spectra.request(`/v1/bulk/jobs/${job.job_id}`, { tenant: 'globex' })).status).toBe(404);
    expect((await bulk.patch('globex', job.job_id, 'Aborted')).status).toBe(404);
  });

  it('aborts an Open job; an import cannot start without its file; results wait for JobComplete', async () => {
    const imp = await bulk.create('acme', { operation: 'insert', object: table.name });
    expect(await error(await bulk.patch('acme', imp.job_id, 'UploadComplete'))).toMatchObject({
      status: 409,
      details: { state: 'Open' },
    });
    expect(
      await error(await spectra.request(`/v1/bulk/jobs/${imp.job_id}/results`, { tenant: 'acme' })),
    ).toMatchObject({
      status: 409,
      details: { state: 'Open' },
    });
    const aborted = await json(await bulk.patch('acme', imp.job_id, 'Aborted'));
    expect(aborted.state).toBe('Aborted');
    expect((await spectra.request(`/v1/bulk/jobs/${imp.job_id}/upload-url`, { tenant: 'acme' })).status).toBe(
      409,
    );
    const exp = await bulk.create('acme', { operation: 'query', query: 'SELECT 1 AS one' });
    expect((await spectra.request(`/v1/bulk/jobs/${exp.job_id}/upload-url`, { tenant: 'acme' })).status).toBe(
      409,
    );
  });

  it('needs bulk:cancel to abort and bulk:create to start', async () => {
    const key = async (permissions: string[]) => {
      const res = await spectra.request('/v1/admin/tenants/acme/keys', {
        key: spectra.adminKey,
        body: { permissions },
      });
      return (await json(res)).api_key as string;
    };
    const reader = await key(['bulk:read', 'bulk:create']);
    // An import waits Open for its file (an export would already be running).
    const job = await bulk.create('acme', { operation: 'insert', object: table.name });
    const res = await spectra.request(`/v1/bulk/jobs/${job.job_id}`, {
      key: reader,
      method: 'PATCH',
      body: { state: 'Aborted' },
    });
    expect(await error(res)).toMatchObject({ status: 403, details: { required: ['bulk:cancel'] } });
    const canceller = await key(['bulk:cancel']);
    const res2 = await spectra.request(`/v1/bulk/jobs/${job.job_id}`, {
      key: canceller,
      method: 'PATCH',
      body: { state: 'UploadComplete' },
    });
    expect(res2.status).toBe(403);
    expect(
      (
        await spectra.request(`/v1/bulk/jobs/${job.job_id}`, {
          key: canceller,
          method: 'PATCH',
          body: { state: 'Aborted' },
        })
      ).status,
    ).toBe(200);
  });

  it('lists newest first, filtered by state and operation, page by page', async () => {
    // The aborted one is an import: it waits Open, while an export may already have finished.
    const ids: string[] = [
      (await bulk.create('initech', { operation: 'insert', object: table.name })).job_id,
    ];
    for (let i = 0; i < 2; i++)
      ids.push((await bulk.create('initech', { operation: 'query', query: 'SELECT 1 AS one' })).job_id);
    const imp = await bulk.create('initech', { operation: 'insert', object: table.name });
    expect((await bulk.patch('initech', ids[0]!, 'Aborted')).status).toBe(200);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Body = await json(
        await spectra.request(`/v1/bulk/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
          tenant: 'initech',
        }),
      );
      expect(page.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.jobs.map((j: Body) => j.job_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.slice(0, 4)).toEqual([imp.job_id, ...ids.slice().reverse()]);
    const aborted = await json(await spectra.request('/v1/bulk/jobs?state=Aborted', { tenant: 'initech' }));
    expect(aborted.jobs.map((j: Body) => j.job_id)).toEqual([ids[0]]);
    const inserts = await json(
      await spectra.request('/v1/bulk/jobs?operation=insert', { tenant: 'initech' }),
    );
    expect(inserts.jobs.map((j: Body) => j.job_id)).toEqual([imp.job_id, ids[0]]);
    expect((await spectra.request('/v1/bulk/jobs?state=Done', { tenant: 'initech' })).status).toBe(400);
  });
});

describe('uploads', () => {
  // On S3 the client PUTs to S3 itself (the API never sees the bytes): the URL is S3's own, and the
  // size cap holds when the job starts. s3rver checks expiry, not signatures (NOTES.md).
  if (onAwsStack()) {
    it('hand out a presigned S3 PUT for the job’s own key; an oversized file is refused at UploadComplete (413); not Open 409', async () => {
      const job = await bulk.create('acme', { operation: 'insert', object: table.name });
      const u = await json(
        await spectra.request(`/v1/bulk/jobs/${job.job_id}/upload-url`, { tenant: 'acme' }),
      );
      expect(u).toMatchObject({ job_id: job.job_id, method: 'PUT', max_size_bytes: 1024 * 1024 });
      const url = new URL(u.upload_url);
      expect(url.pathname).toMatch(new RegExp(`/acme/${job.job_id}/`));
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(Number(url.searchParams.get('X-Amz-Expires'))).toBe(spectra.core.config.presignedUrlExpiry);

      const big = Buffer.concat([Buffer.from('id,name\n'), Buffer.alloc(1024 * 1024, 0x41)]);
      expect((await fetch(url, { method: 'PUT', body: big })).status).toBe(200);
      expect(await error(await bulk.patch('acme', job.job_id, 'UploadComplete'))).toMatchObject({
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      });
      expect((await bulk.get('acme', job.job_id)).state).toBe('Open');

      expect((await fetch(url, { method: 'PUT', body: 'id,name\n1,a\n' })).status).toBe(200);
      expect((await bulk.patch('acme', job.job_id, 'UploadComplete')).status).toBe(200);
      const again = await spectra.request(`/v1/bulk/jobs/${job.job_id}/upload-url`, { tenant: 'acme' });
      expect(again.status).toBe(409);
      expect(await bulk.waitFor('acme', job.job_id, ['JobComplete', 'Failed'])).toMatchObject({
        state: 'JobComplete',
        number_records_processed: 1,
      });
    });
    return;
  }
  it('stream a PUT to storage through the signed URL only; size cap 413; not Open 409', async () => {
    const job = await bulk.create('acme', { operation: 'insert', object: table.name });
    const u = await json(await spectra.request(`/v1/bulk/jobs/${job.job_id}/upload-url`, { tenant: 'acme' }));
    expect(u).toMatchObject({ job_id: job.job_id, method: 'PUT', max_size_bytes: 1024 * 1024 });
    const url = new URL(u.upload_url);
    // Altered, expired, or used on the generic download route: 403.
    const tampered = new URL(url);
    tampered.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 1));
    const elsewhere = new URL(url);
    elsewhere.pathname = url.pathname.replace('/v1/bulk/uploads/', '/v1/downloads/');
    const otherTenant = new URL(url);
    otherTenant.pathname = url.pathname.replace('/acme/', '/globex/');
    for (const bad of [tampered, elsewhere, otherTenant]) {
      const res = await fetch(bad, { method: 'PUT', body: 'id\n1\n' });
      expect(res.status, bad.pathname).toBe(403);
    }
    const tooBig = await fetch(url, { method: 'PUT', body: Buffer.alloc(1024 * 1024 + 1, 0x41) });
    expect(await error(tooBig)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    // Streamed without a length: the cap applies while it is read.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(64 * 1024));
        c.close();
      },
    });
    const chunked = await fetch(url, { method: 'PUT', body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    const ok = await fetch(url, {
      method: 'PUT',
      body: gzipSync('id,name\n1,a\n'),
      headers: { 'content-encoding': 'gzip' },
    });
    expect(await json(ok)).toMatchObject({ job_id: job.job_id, state: 'Open' });
    expect((await bulk.get('acme', job.job_id)).upload.size_bytes).toBeGreaterThan(0);
    await bulk.patch('acme', job.job_id, 'UploadComplete');
    expect((await fetch(url, { method: 'PUT', body: 'id\n2\n' })).status).toBe(409);
    expect(await bulk.waitFor('acme', job.job_id, ['JobComplete', 'Failed'])).toMatchObject({
      state: 'JobComplete',
      number_records_processed: 1,
    });
  });
});

describe('uploads to an object store', () => {
  it('starts an import whose file went straight to the store through a presigned URL', async () => {
    const job = await bulk.create('acme', { operation: 'insert', object: table.name });
    // What an S3 ResultStore hands out: a URL of the store itself, which the API never sees used.
    const put = await spectra.core.results.signedUrl('PUT', `acme/${job.job_id}/upload.csv`, 60);
    const res = await fetch(new URL(put.url, spectra.url), { method: 'PUT', body: 'id,name\n7,seven\n' });
    expect(res.status).toBe(200);
    expect((await bulk.get('acme', job.job_id)).upload).toBeNull();
    expect((await bulk.patch('acme', job.job_id, 'UploadComplete')).status).toBe(200);
    expect(await bulk.waitFor('acme', job.job_id, ['JobComplete', 'Failed'])).toMatchObject({
      state: 'JobComplete',
      number_records_processed: 1,
      upload: { size_bytes: 16 },
    });
  });
});

describe('exports', () => {
  it('writes CSV: a header, RFC 4180 quoting, NULL empty and "" for the empty string, UTF-8, each delimiter', async () => {
    const job = await bulk.run('acme', { operation: 'query', query: EDGE_SQL });
    expect(job).toMatchObject({ state: 'JobComplete', number_records_processed: 4 });
    const { bytes, results } = await bulk.download('acme', job.job_id);
    expect(bytes.toString('utf8')).toBe(
      'id,s,t,b,amount\n' +
        '1,plain,,true,1.50\n' +
        '2,"with,comma|pipe\ttab","",false,-2.00\n' +
        '3,"say ""hi""","line1\nline2",,\n' +
        '4,naïve – 日本 🎉,x,true,0.00\n',
    );
    expect(results).toMatchObject({
      format: 'CSV',
      compression: 'NONE',
      row_count: 4,
      size_bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      columns: [
        { name: 'id', type: 'INTEGER' },
        { name: 's', type: 'VARCHAR' },
        { name: 't', type: 'VARCHAR' },
        { name: 'b', type: 'BOOLEAN' },
        // VALUES resolves the column to numeric without a modifier.
        { name: 'amount', type: 'DECIMAL' },
      ],
    });
    const pipe = await bulk.run('acme', {
      operation: 'query',
      query: EDGE_SQL,
      column_delimiter: '|',
      line_ending: 'CRLF',
    });
    expect((await bulk.download('acme', pipe.job_id)).bytes.toString('utf8')).toBe(
      'id|s|t|b|amount\r\n' +
        '1|plain||true|1.50\r\n' +
        '2|"with,comma|pipe\ttab"|""|false|-2.00\r\n' +
        '3|"say ""hi"""|"line1\nline2"||\r\n' +
        '4|naïve – 日本 🎉|x|true|0.00\r\n',
    );
    const tab = await bulk.run('acme', {
      operation: 'query',
      query: EDGE_SQL,
      column_delimiter: 'TAB',
      compression: 'GZIP',
    });
    const gz = await bulk.download('acme', tab.job_id);
    expect(gz.results).toMatchObject({
      compression: 'GZIP',
      sha256: createHash('sha256').update(gz.bytes).digest('hex'),
    });
    expect(gunzipSync(gz.bytes).toString('utf8').split('\n')[2]).toBe(
      '2\t"with,comma|pipe\ttab"\t""\tfalse\t-2.00',
    );
  });

  it('writes NDJSON and a JSON array with the Query API’s value encodings', async () => {
    // The jsonb column on the PostgreSQL stack only: Redshift has no jsonb (the guard refuses it there).
    const doc = onAwsStack() ? '' : ', CAST(\'{"k": [1]}\' AS jsonb) AS doc';
    const sql = `SELECT 1 AS id, CAST(1.5 AS numeric(4,2)) AS amount, CAST('2024-01-02 03:04:05' AS timestamptz) AS at${doc}, CAST(NULL AS text) AS none`;
    const nd = await bulk.run('acme', {
      operation: 'query',
      query: sql,
      content_type: 'JSON',
      compression: 'GZIP',
    });
    const lines = gunzipSync((await bulk.download('acme', nd.job_id)).bytes).toString('utf8');
    expect(lines).toBe(
      `{"id":1,"amount":"1.50","at":"2024-01-02T03:04:05Z",${doc ? '"doc":{"k":[1]},' : ''}"none":null}\n`,
    );
    const arr = await bulk.run('acme', {
      operation: 'query',
      query: sql,
      content_type: 'JSON',
      json_format: 'ARRAY',
    });
    const { bytes, results } = await bulk.download('acme', arr.job_id);
    expect(JSON.parse(bytes.toString('utf8'))).toEqual([JSON.parse(lines)]);
    expect(results.download_url).toMatch(/\.json\?/);
  });

  it('writes Parquet with typed columns (integers, decimals, floats, booleans, text, dates, timestamps)', async () => {
    const sql = `SELECT sale_id, quantity, amount, CAST(amount AS double precision) AS ratio, quantity > 2 AS big,
                        region, CAST(sold_at AS date) AS day, sold_at, CAST(sold_at AS timestamptz) AS sold_tz
                   FROM sales ORDER BY sale_id LIMIT 2500`;
    const job = await bulk.run('acme', { operation: 'query', query: sql, content_type: 'PARQUET' });
    expect(job).toMatchObject({ state: 'JobComplete', number_records_processed: 2500 });
    const { bytes, results } = await bulk.download('acme', job.job_id);
    expect(results).toMatchObject({
      format: 'PARQUET',
      row_count: 2500,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    const t = arrow.tableFromIPC(parquet.readParquet(bytes).intoIPCStream());
    expect(t.numRows).toBe(2500);
    expect(Object.fromEntries(t.schema.fields.map((f) => [f.name, String(f.type)]))).toEqual({
      sale_id: 'Int64',
      quantity: 'Int32',
      amount: 'Decimal[12e+2]',
      ratio: 'Float64',
      big: 'Bool',
      region: 'Utf8',
      day: 'Date32<DAY>',
      sold_at: 'Timestamp<MICROSECOND>',
      sold_tz: 'Timestamp<MICROSECOND, UTC>',
    });
    const rows = await json(await spectra.query('acme', { sql: sql.replace('LIMIT 2500', 'LIMIT 3') }));
    for (let i = 0; i < 3; i++) {
      const r = rows.data[i];
      expect(t.getChild('sale_id')!.get(i)).toBe(BigInt(r.sale_id));
      expect(t.getChild('ratio')!.get(i)).toBe(r.ratio);
      expect(t.getChild('big')!.get(i)).toBe(r.big);
      expect(t.getChild('day')!.get(i)).toBe(Date.parse(r.day));
      const micros = (t.getChild('sold_at')!.data[0]!.values as BigInt64Array)[i]!;
      expect(Number(micros / 1000n)).toBe(Date.parse(`${r.sold_at}Z`));
      const dec = t.getChild('amount')!.get(i) as Uint32Array;
      expect(dec[0]! / 100).toBe(Number(r.amount));
    }
  });

  it('runs as the tenant: row-level security applies to the export', async () => {
    const job = await bulk.run('globex', {
      operation: 'query',
      query: 'SELECT DISTINCT tenant_id FROM sales',
    });
    expect((await bulk.download('globex', job.job_id)).bytes.toString('utf8')).toBe('tenant_id\nglobex\n');
  });

  it('moves its counters while it runs, then reports the exact row count', async () => {
    const job = await bulk.create('acme', { operation: 'query', query: BIG_SQL });
    await bulk.patch('acme', job.job_id, 'UploadComplete');
    const seen: number[] = [];
    for (;;) {
      const j = await bulk.get('acme', job.job_id);
      if (j.state === 'InProgress') seen.push(j.number_records_processed);
      if (j.state === 'JobComplete') {
        expect(j.number_records_processed).toBe(2_500_000);
        break;
      }
      expect(j.state).not.toBe('Failed');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(seen.some((n) => n > 0 && n < 2_500_000)).toBe(true);
    expect((await bulk.results('acme', job.job_id)).row_count).toBe(2_500_000);
  });

  it('Aborted stops a running export in the warehouse and removes its files', async () => {
    const job = await bulk.create('acme', { operation: 'query', query: BIG_SQL });
    await bulk.patch('acme', job.job_id, 'UploadComplete');
    for (;;) {
      const j = await bulk.get('acme', job.job_id);
      if (j.state === 'InProgress' && j.number_records_processed > 0) break;
      expect(j.state).not.toBe('JobComplete');
      await new Promise((r) => setTimeout(r, 10));
    }
    const res = await bulk.patch('acme', job.job_id, 'Aborted');
    expect((await json(res)).state).toBe('Aborted');
    const admin = await adminClient();
    try {
      await waitFor(
        async () => {
          const r = await admin.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE '%' || $1 AND state <> 'idle'`,
            [job.job_id],
          );
          return r.rows[0].n === 0;
        },
        { what: 'the export statement to be cancelled' },
      );
    } finally {
      await admin.end();
    }
    const folder = path.join(spectra.core.config.home, 'results', 'acme', job.job_id);
    await waitFor(async () => (await readdir(folder).catch(() => [])).length === 0, {
      what: 'the export files to be removed',
    });
    expect((await bulk.get('acme', job.job_id)).state).toBe('Aborted');
  });
});
