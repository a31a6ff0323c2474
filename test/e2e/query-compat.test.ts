/**
 * Drop-in compatibility with the Python original's query clients and truncation visible in
 * streams (issue 18): `output_format` instead of `Accept`, and the opt-in last line of an NDJSON or
 * CSV stream saying whether the row cap cut it, announced by `X-Spectra-Row-Limit` before the body.
 */
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { waitFor } from '../helpers/time.js';

let spectra: TestSpectra;
beforeAll(async () => {
  // Small Parquet row groups: the 20,000-row download below spans several.
  spectra = await startSpectra({
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
    SPECTRA_BULK_PARQUET_ROW_GROUP_ROWS: '4000',
  });
  await startJobWorker(spectra.core);
});
afterAll(async () => {
  await spectra?.close();
});

/** The raw microseconds of row `i` of a timestamp column, whichever record batch holds it. */
function micros(column: arrow.Vector, i: number): bigint {
  let at = i;
  for (const d of column.data) {
    if (at < d.length) return (d.values as BigInt64Array)[d.offset + at]!;
    at -= d.length;
  }
  throw new Error(`row ${i} is past the column's end`);
}

const lines = (text: string) => text.split(/\r?\n/).filter((l) => l !== '');

describe('output_format (the original’s request shape)', () => {
  it('json answers the envelope, as the original’s clients send it', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT 1 AS test_value', output_format: 'json' });
    expect(res.status).toBe(200);
    expect((await json(res)).data).toEqual([{ test_value: 1 }]);
  });

  it('csv and ndjson stream, and win over Accept', async () => {
    const csv = await spectra.query(
      'acme',
      { sql: 'SELECT 1 AS a, 2 AS b', output_format: 'csv' },
      { accept: 'application/json' },
    );
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(lines(await csv.text())).toEqual(['a,b', '1,2']);
    const nd = await spectra.query('acme', { sql: 'SELECT 1 AS a', output_format: 'ndjson' });
    expect(nd.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(lines(await nd.text())).toEqual(['{"a":1}']);
  });

  it('parquet with a synchronous query is refused, pointing to async and the Bulk API', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT 1 AS a', output_format: 'parquet' });
    expect(res.status).toBe(400);
    const { error } = await json(res);
    expect(error.message).toMatch(/"async": true/);
    expect(error.details).toMatchObject({ field: 'output_format', bulk: { path: '/v1/bulk/jobs' } });
  });

  it('parquet with "async": true downloads the whole result as a typed Parquet file', async () => {
    const sql = `SELECT sale_id, quantity, amount, CAST(amount AS double precision) AS ratio, quantity > 2 AS big,
                        region, CAST(sold_at AS date) AS day, sold_at, CAST(sold_at AS timestamptz) AS sold_tz
                   FROM sales ORDER BY sale_id LIMIT 20000`;
    const res = await spectra.query('acme', { sql, async: true, output_format: 'parquet' });
    expect(res.status).toBe(202);
    const { job_id, results_url } = await json(res);
    expect(results_url).toBe(`/v1/jobs/${job_id}/results?format=parquet`);
    await waitFor(
      async () =>
        (await json(await spectra.request(`/v1/jobs/${job_id}`, { tenant: 'acme' }))).status === 'COMPLETED',
      { what: 'the async parquet job to complete' },
    );
    const descriptor = await json(await spectra.request(results_url, { tenant: 'acme' }));
    expect(descriptor).toMatchObject({ format: 'parquet', compression: 'none', row_count: 20000 });
    const download = await fetch(descriptor.download_url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const bytes = new Uint8Array(await download.arrayBuffer());
    expect(bytes.length).toBe(descriptor.size_bytes);
    const t = arrow.tableFromIPC(parquet.readParquet(bytes).intoIPCStream());
    expect(t.numRows).toBe(20000);
    const file = await parquet.ParquetFile.fromFile(new Blob([bytes]));
    expect(file.metadata().numRowGroups()).toBe(5);
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
    // Every row, in order, equal to what the job's pages hold.
    let cursor: string | null = null;
    let i = 0;
    do {
      const page = await json(
        await spectra.request(
          `/v1/jobs/${job_id}/results?limit=10000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          { tenant: 'acme' },
        ),
      );
      for (const r of page.data) {
        expect(t.getChild('sale_id')!.get(i)).toBe(BigInt(r.sale_id));
        expect(t.getChild('quantity')!.get(i)).toBe(r.quantity);
        expect((t.getChild('amount')!.get(i) as Uint32Array)[0]! / 100).toBe(Number(r.amount));
        expect(t.getChild('ratio')!.get(i)).toBe(r.ratio);
        expect(t.getChild('big')!.get(i)).toBe(r.big);
        expect(t.getChild('region')!.get(i)).toBe(r.region);
        expect(t.getChild('day')!.get(i)).toBe(Date.parse(r.day));
        expect(Number(micros(t.getChild('sold_at')!, i) / 1000n)).toBe(Date.parse(`${r.sold_at}Z`));
        i++;
      }
      cursor = page.next_cursor;
    } while (cursor);
    expect(i).toBe(20000);
  });

  it('a Parquet download takes no compression', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT 1 AS a', async: true, output_format: 'parquet' });
    const { job_id } = await json(res);
    await waitFor(
      async () =>
        (await json(await spectra.request(`/v1/jobs/${job_id}`, { tenant: 'acme' }))).status === 'COMPLETED',
      { what: 'the async job to complete' },
    );
    const bad = await spectra.request(`/v1/jobs/${job_id}/results?format=parquet&compression=gzip`, {
      tenant: 'acme',
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.details).toMatchObject({ field: 'compression' });
  });

  it('with "async": true names where the results come in that format', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT 1 AS a', async: true, output_format: 'csv' });
    expect(res.status).toBe(202);
    const { job_id, results_url } = await json(res);
    expect(results_url).toBe(`/v1/jobs/${job_id}/results?format=csv`);
    await waitFor(
      async () =>
        (await json(await spectra.request(`/v1/jobs/${job_id}`, { tenant: 'acme' }))).status === 'COMPLETED',
      { what: 'the async job to complete' },
    );
    const results = await json(await spectra.request(results_url, { tenant: 'acme' }));
    expect(results).toMatchObject({ format: 'csv', row_count: 1 });
  });
});

describe('truncation visible in streams', () => {
  it('NDJSON: X-Spectra-Row-Limit before the body, and an opt-in last line saying the cap cut the stream', async () => {
    const res = await spectra.query('globex', {
      sql: 'SELECT sale_id FROM sales ORDER BY sale_id',
      limit: 5,
      output_format: 'ndjson',
      stream_metadata: true,
    });
    expect(res.headers.get('x-spectra-row-limit')).toBe('5');
    const got = lines(await res.text());
    expect(got).toHaveLength(6);
    const meta = JSON.parse(got[5]!)['@metadata'];
    expect(meta).toMatchObject({
      job_id: res.headers.get('x-spectra-job-id'),
      row_count: 5,
      truncated: true,
      row_limit: 5,
      message: expect.stringMatching(/Bulk API/),
    });
  });

  it('CSV: the last line is a #spectra-metadata comment; a complete result says truncated false', async () => {
    const res = await spectra.query(
      'globex',
      { sql: 'SELECT 1 AS a', stream_metadata: true },
      { accept: 'text/csv' },
    );
    const got = lines(await res.text());
    expect(got.slice(0, 2)).toEqual(['a', '1']);
    expect(got[2]).toMatch(/^#spectra-metadata \{/);
    expect(JSON.parse(got[2]!.slice('#spectra-metadata '.length))).toMatchObject({
      row_count: 1,
      truncated: false,
      message: null,
    });
  });

  it('without stream_metadata the stream holds rows only', async () => {
    const res = await spectra.query(
      'globex',
      { sql: 'SELECT 1 AS a', limit: 1 },
      { accept: 'application/x-ndjson' },
    );
    expect(lines(await res.text())).toEqual(['{"a":1}']);
  });
});

describe('bulk exports as the original’s clients create them', () => {
  const create = (body: Record<string, unknown>) =>
    spectra.request('/v1/bulk/jobs', { tenant: 'acme', body: { operation: 'query', ...body } });

  it('accept object when it names a table the query reads, and start at once', async () => {
    for (const object of ['sales', 'public.sales', 'SALES']) {
      const res = await create({ query: 'SELECT * FROM sales LIMIT 100', content_type: 'CSV', object });
      expect(res.status, object).toBe(201);
      expect(await json(res)).toMatchObject({ state: 'UploadComplete', object });
    }
  });

  it('refuse an object the query does not read, naming the tables it does', async () => {
    const res = await create({ query: 'SELECT * FROM sales', object: 'customers' });
    expect(res.status).toBe(400);
    const { error } = await json(res);
    expect(error.details).toEqual({ field: 'object', relations: ['sales'] });
    expect(error.message).toMatch(/customers.*sales/);
  });

  it('answer a PATCH UploadComplete on an export as a no-op', async () => {
    const job = await json(await create({ query: 'SELECT 1 AS one' }));
    const res = await spectra.request(`/v1/bulk/jobs/${job.job_id}`, {
      tenant: 'acme',
      method: 'PATCH',
      body: { state: 'UploadComplete' },
    });
    expect(res.status).toBe(200);
    expect((await json(res)).job_id).toBe(job.job_id);
  });
});
