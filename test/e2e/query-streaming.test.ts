/**
 * Content negotiation on POST /v1/queries: NDJSON and CSV stream rows with metadata in X-Spectra-*
 * headers; errors before the first row still get the JSON envelope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

/** Functional tests: rate limits are another suite's subject. */
const UNLIMITED = { SPECTRA_RATE_LIMIT_PER_MINUTE: '0' };

const NDJSON = { accept: 'application/x-ndjson' };
const CSV = { accept: 'text/csv' };

let spectra: TestSpectra;
beforeAll(async () => {
  spectra = await startSpectra(UNLIMITED);
});
afterAll(async () => {
  await spectra?.close();
});

/** Reads a streamed body chunk by chunk, as a streaming client would. */
async function readChunks(res: Response): Promise<{ text: string }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return { text: text + decoder.decode() };
}

describe('NDJSON', () => {
  it('streams one JSON object per line, metadata in X-Spectra-* headers', async () => {
    const res = await spectra.query(
      'acme',
      { sql: 'SELECT sale_id, tenant_id, amount FROM sales ORDER BY sale_id LIMIT 3' },
      NDJSON,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(JSON.parse(res.headers.get('x-spectra-columns')!)).toEqual(['sale_id', 'tenant_id', 'amount']);
    expect(JSON.parse(res.headers.get('x-spectra-column-types')!)).toEqual([
      'BIGINT',
      'VARCHAR',
      'DECIMAL(12,2)',
    ]);
    expect(res.headers.get('x-spectra-row-limit')).toBe('3');
    const jobId = res.headers.get('x-spectra-job-id');
    expect(jobId).toMatch(/^job-/);
    expect(res.headers.get('x-request-id')).toBeTruthy();

    const lines = (await res.text()).split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(JSON.parse(line)).toEqual({
        sale_id: expect.any(Number),
        tenant_id: 'acme',
        amount: expect.stringMatching(/^\d+\.\d\d$/),
      });
    }
    const job = await json(await spectra.request(`/v1/jobs/${jobId}`, { tenant: 'acme' }));
    expect(job).toMatchObject({ status: 'COMPLETED', row_count: 3, truncated: false });
  });

  it('streams 10,000 rows of one tenant', async () => {
    const res = await spectra.query(
      'globex',
      {
        sql: 'SELECT s.tenant_id, s.sale_id, c.name FROM sales s JOIN customers c USING (tenant_id, customer_id)',
      },
      NDJSON,
    );
    expect(res.status).toBe(200);
    const { text } = await readChunks(res);
    const rows = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(10_000);
    expect(new Set(rows.map((r) => r.tenant_id))).toEqual(new Set(['globex']));
  });

  it('records a truncated stream in the job', async () => {
    const res = await spectra.query(
      'acme',
      {
        sql: 'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 50) SELECT g FROM s',
        limit: 20,
      },
      NDJSON,
    );
    const lines = (await res.text()).split('\n').filter(Boolean);
    expect(lines).toHaveLength(20);
    const job = await json(
      await spectra.request(`/v1/jobs/${res.headers.get('x-spectra-job-id')}`, { tenant: 'acme' }),
    );
    expect(job).toMatchObject({ row_count: 20, truncated: true });
  });

  it('a SQL error before the first row gets the JSON error envelope, not a stream', async () => {
    for (const sql of [
      'SELECT 1/0 AS x',
      'SELECT no_such_column FROM sales',
      'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 10) SELECT 1/(g - 5) FROM s',
    ]) {
      const res = await spectra.query('acme', { sql }, NDJSON);
      expect(res.status, sql).toBe(422);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect((await json(res)).error).toMatchObject({
        code: 'QUERY_FAILED',
        details: { sqlstate: expect.any(String) },
      });
    }
  });

  it('a guard rejection or bad request is the JSON envelope as well', async () => {
    const blocked = await spectra.query('acme', { sql: 'DROP TABLE sales' }, NDJSON);
    expect(blocked.status).toBe(400);
    expect((await json(blocked)).error.code).toBe('SQL_BLOCKED');
    const timeout = await spectra.query('acme', { sql: 'SELECT 1', timeout_seconds: 9999 }, CSV);
    expect(timeout.status).toBe(400);
    expect((await json(timeout)).error.code).toBe('INVALID_REQUEST');
  });
});

describe('CSV', () => {
  it('streams a header row and RFC 4180 records', async () => {
    const res = await spectra.query(
      'acme',
      {
        sql: `SELECT 1 AS n, 'say "hi"' AS quoted, 'a,b' AS comma, NULL::text AS nothing, '' AS empty, 1.50::numeric(4,2) AS dec, true AS flag`,
      },
      CSV,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(JSON.parse(res.headers.get('x-spectra-columns')!)).toEqual([
      'n',
      'quoted',
      'comma',
      'nothing',
      'empty',
      'dec',
      'flag',
    ]);
    expect(await res.text()).toBe(
      'n,quoted,comma,nothing,empty,dec,flag\r\n1,"say ""hi""","a,b",,"",1.50,true\r\n',
    );
  });

  it('streams 10,000 rows after the header, only the caller’s tenant', async () => {
    const res = await spectra.query(
      'initech',
      { sql: 'SELECT tenant_id, sale_id FROM sales LIMIT 10000' },
      CSV,
    );
    expect(res.status).toBe(200);
    const { text } = await readChunks(res);
    const lines = text.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe('tenant_id,sale_id');
    const records = lines.slice(1, -1);
    expect(records).toHaveLength(10_000);
    expect(records.every((r) => r.startsWith('initech,'))).toBe(true);
  });

  it('an empty result is the header row alone', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT sale_id, region FROM sales LIMIT 0' }, CSV);
    expect(await res.text()).toBe('sale_id,region\r\n');
  });
});
