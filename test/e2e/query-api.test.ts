/**
 * The synchronous Query API as a client sees it (issue 2 acceptance): isolation, truncation,
 * bad input, bind parameters, job records, auth envelope. Real HTTP, real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

/** 1..n as column g, in SQL Redshift runs too (it has no generate_series over tables). */
const series = (n: number) =>
  `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < ${n}) SELECT g FROM s`;

/** Functional tests: rate limits are another suite's subject. */
const UNLIMITED = { SPECTRA_RATE_LIMIT_PER_MINUTE: '0' };

const TENANTS = ['acme', 'globex', 'initech'] as const;
const TABLES = ['sales', 'customers', 'products'] as const;
const CAP = 10_000;
const BULK_HINT = /Bulk API/;

let spectra: TestSpectra;
beforeAll(async () => {
  spectra = await startSpectra(UNLIMITED);
});
afterAll(async () => {
  await spectra?.close();
});

/** Asserts the error envelope and returns its `error` object. */
async function expectError(res: Response, status: number, code: string) {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text);
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ code, message: expect.any(String), details: expect.any(Object) });
  expect(body.error.request_id).toBe(res.headers.get('x-request-id'));
  return body.error as { code: string; message: string; details: Record<string, unknown> };
}

async function ok(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text);
}

const post = (body: string, headers: Record<string, string>, tenant = 'acme') =>
  fetch(`${spectra.url}/v1/queries`, {
    method: 'POST',
    headers: { authorization: `Bearer ${spectra.keys[tenant]}`, ...headers },
    body,
  });

describe('tenant isolation through the API', () => {
  for (const tenant of TENANTS) {
    it.each(TABLES)(`${tenant}: SELECT DISTINCT tenant_id FROM %s returns only ${tenant}`, async (table) => {
      const body = await ok(await spectra.query(tenant, { sql: `SELECT DISTINCT tenant_id FROM ${table}` }));
      expect(body.data).toEqual([{ tenant_id: tenant }]);
    });
  }

  it('runs each tenant’s statement as its own database role', async () => {
    for (const tenant of TENANTS) {
      const body = await ok(await spectra.query(tenant, { sql: 'SELECT current_user AS who' }));
      expect(body.data).toEqual([{ who: `tenant_${tenant}` }]);
    }
  });

  it('a filter on another tenant’s id finds nothing', async () => {
    const body = await ok(
      await spectra.query('acme', {
        sql: 'SELECT count(*) AS n FROM sales WHERE tenant_id = :t',
        params: { t: 'globex' },
      }),
    );
    expect(body.data).toEqual([{ n: 0 }]);
  });
});

describe('truncation (cap 10,000: fetch limit+1, return limit)', () => {
  let acmeSales: number;
  beforeAll(async () => {
    const body = await ok(await spectra.query('acme', { sql: 'SELECT count(*) AS n FROM sales' }));
    acmeSales = body.data[0].n;
    expect(acmeSales).toBeGreaterThan(CAP + 1);
  });

  async function run(sql: string, extra: Record<string, unknown> = {}) {
    const body = await ok(await spectra.query('acme', { sql, ...extra }));
    return { body, n: body.data.length, meta: body.metadata };
  }

  function expectTruncated(r: Awaited<ReturnType<typeof run>>, rows: number) {
    expect(r.n).toBe(rows);
    expect(r.meta.row_count).toBe(rows);
    expect(r.meta.truncated).toBe(true);
    expect(r.meta.message).toMatch(BULK_HINT);
  }

  function expectComplete(r: Awaited<ReturnType<typeof run>>, rows: number) {
    expect(r.n).toBe(rows);
    expect(r.meta.row_count).toBe(rows);
    expect(r.meta.truncated).toBe(false);
    expect(r.meta.message).toBeNull();
  }

  it('no LIMIT on a larger table → 10,000 rows, truncated, message points to the Bulk API', async () => {
    expectTruncated(await run('SELECT sale_id FROM sales'), CAP);
  });

  it('exactly 10,000 rows without LIMIT → not truncated; 10,001 → truncated', async () => {
    expectComplete(await run(`${series(10000)}`), CAP);
    expectTruncated(await run(`${series(10001)}`), CAP);
  });

  it('LIMIT above the cap → capped and truncated', async () => {
    expectTruncated(await run('SELECT sale_id FROM sales LIMIT 50000'), CAP);
  });

  it('LIMIT equal to the cap → 10,000 rows, not truncated (the client asked for exactly that)', async () => {
    expectComplete(await run('SELECT sale_id FROM sales LIMIT 10000'), CAP);
  });

  it('LIMIT below the cap → exactly that many rows, not truncated', async () => {
    expectComplete(await run('SELECT sale_id FROM sales ORDER BY sale_id LIMIT 25'), 25);
  });

  it('LIMIT 0 → no rows, columns still described, not truncated', async () => {
    const r = await run('SELECT sale_id, region FROM sales LIMIT 0');
    expectComplete(r, 0);
    expect(r.meta.columns).toEqual(['sale_id', 'region']);
    expect(r.meta.column_types).toEqual(['BIGINT', 'VARCHAR']);
  });

  it('LIMIT ALL → capped and truncated', async () => {
    expectTruncated(await run('SELECT sale_id FROM sales LIMIT ALL'), CAP);
  });

  it('UNION … ORDER BY: the cap applies to the whole union, after ordering', async () => {
    const r = await run(
      'SELECT sale_id FROM sales UNION ALL SELECT sale_id FROM sales ORDER BY sale_id DESC',
    );
    expectTruncated(r, CAP);
    const max = (await run('SELECT max(sale_id) AS m FROM sales')).body.data[0].m;
    expect(r.body.data.slice(0, 3).map((d: { sale_id: number }) => d.sale_id)).toEqual([max, max, max - 1]);

    const small = await run('SELECT 1 AS x UNION SELECT 2 ORDER BY x DESC');
    expectComplete(small, 2);
    expect(small.body.data).toEqual([{ x: 2 }, { x: 1 }]);
  });

  it('a CTE: the top-level SELECT is capped, a LIMIT inside the CTE is the tenant’s', async () => {
    expectTruncated(await run('WITH s AS (SELECT sale_id FROM sales) SELECT sale_id FROM s'), CAP);
    expectComplete(
      await run('WITH s AS (SELECT sale_id FROM sales ORDER BY sale_id LIMIT 7) SELECT sale_id FROM s'),
      7,
    );
  });

  it('OFFSET: rows after the offset, capped the same way', async () => {
    const r = await run(`${series(20)} ORDER BY g OFFSET 15`);
    expectComplete(r, 5);
    expect(r.body.data.map((d: { g: number }) => d.g)).toEqual([16, 17, 18, 19, 20]);

    const paged = await run(`${series(100)} ORDER BY g LIMIT 3 OFFSET 10`);
    expect(paged.body.data).toEqual([{ g: 11 }, { g: 12 }, { g: 13 }]);

    const big = await run(`${series(10005)} ORDER BY g OFFSET 2`);
    expectTruncated(big, CAP);
    expect(big.body.data[0]).toEqual({ g: 3 });
  });

  it('parameters.limit and top-level limit lower the cap', async () => {
    const sql = `${series(100)}`;
    expectTruncated(await run(sql, { parameters: { limit: 10 } }), 10);
    expectTruncated(await run(sql, { limit: 10 }), 10);
    expectComplete(await run(sql, { limit: 100 }), 100);
    expectComplete(await run(`${sql} LIMIT 5`, { limit: 10 }), 5);
    expectTruncated(await run(`${sql} LIMIT 50`, { limit: 10 }), 10);
  });

  it('the job records the same row count and truncation', async () => {
    const r = await run('SELECT sale_id FROM sales');
    const job = await ok(await spectra.request(`/v1/jobs/${r.body.job_id}`, { tenant: 'acme' }));
    expect(job).toMatchObject({ status: 'COMPLETED', row_count: CAP, truncated: true });
  });

  it('a request limit above the maximum → 400 naming the field and the maximum', async () => {
    const e1 = await expectError(
      await spectra.query('acme', { sql: 'SELECT 1', limit: CAP + 1 }),
      400,
      'INVALID_REQUEST',
    );
    expect(e1.details).toMatchObject({ field: 'limit', max: CAP });
    const e2 = await expectError(
      await spectra.query('acme', { sql: 'SELECT 1', parameters: { limit: CAP + 1 } }),
      400,
      'INVALID_REQUEST',
    );
    expect(e2.details).toMatchObject({ field: 'limit', max: CAP });
  });
});

describe('bad input → 4xx with the envelope naming the problem, never 5xx', () => {
  const JSON_TYPE = { 'content-type': 'application/json' };

  it('invalid JSON → 400 INVALID_REQUEST', async () => {
    const e = await expectError(await post('{"sql": ', JSON_TYPE), 400, 'INVALID_REQUEST');
    expect(e.message).toMatch(/JSON/);
  });

  it('empty body → 400 INVALID_REQUEST', async () => {
    const e = await expectError(await post('', JSON_TYPE), 400, 'INVALID_REQUEST');
    expect(e.message).toMatch(/JSON|body/i);
  });

  it('a JSON body that is not an object → 400', async () => {
    await expectError(await post('[1]', JSON_TYPE), 400, 'INVALID_REQUEST');
    await expectError(await post('"SELECT 1"', JSON_TYPE), 400, 'INVALID_REQUEST');
  });

  it('missing sql → 400 naming sql', async () => {
    const e = await expectError(await spectra.query('acme', {}), 400, 'INVALID_REQUEST');
    expect(e.details.field).toBe('sql');
    expect(e.message).toMatch(/sql/);
  });

  it.each([
    ['sql is a number', { sql: 1 }, 'sql'],
    ['sql is empty', { sql: '' }, 'sql'],
    ['limit is a string', { sql: 'SELECT 1', limit: '10' }, 'limit'],
    ['limit is negative', { sql: 'SELECT 1', limit: -1 }, 'limit'],
    ['limit is fractional', { sql: 'SELECT 1', limit: 1.5 }, 'limit'],
    ['timeout_seconds is 0', { sql: 'SELECT 1', timeout_seconds: 0 }, 'timeout_seconds'],
    ['a params value is an object', { sql: 'SELECT :a AS a', params: { a: { b: 1 } } }, 'params.a'],
    ['a params value is an array', { sql: 'SELECT :a AS a', params: { a: [1] } }, 'params.a'],
    ['params is an array', { sql: 'SELECT 1', params: [1] }, 'params'],
    ['async is a string', { sql: 'SELECT 1', async: 'no' }, 'async'],
  ])('wrong type: %s → 400 naming the field', async (_name, body, field) => {
    const e = await expectError(await spectra.query('acme', body), 400, 'INVALID_REQUEST');
    expect(e.details.field).toBe(field);
    expect(e.message).toContain(field);
  });

  it('unknown top-level field → 400 naming it', async () => {
    const e = await expectError(
      await spectra.query('acme', { sql: 'SELECT 1', sqll: 'SELECT 2' }),
      400,
      'INVALID_REQUEST',
    );
    expect(e.details.field).toBe('sqll');
    expect(e.message).toContain('sqll');
  });

  it('timeout above the maximum → 400 naming timeout_seconds', async () => {
    const e = await expectError(
      await spectra.query('acme', { sql: 'SELECT 1', timeout_seconds: 301 }),
      400,
      'INVALID_REQUEST',
    );
    expect(e.details).toMatchObject({ field: 'timeout_seconds', max: 300 });
  });

  it('unknown route → 404 envelope', async () => {
    const e = await expectError(await spectra.request('/v1/nope', { tenant: 'acme' }), 404, 'NOT_FOUND');
    expect(e.message).toContain('/v1/nope');
    await expectError(await spectra.request('/nope'), 404, 'NOT_FOUND');
  });

  it('wrong method → 405 with Allow', async () => {
    const res = await spectra.request('/v1/queries', { tenant: 'acme' });
    const e = await expectError(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.get('allow')).toBe('POST');
    expect(e.details.allowed).toEqual(['POST']);
    const del = await spectra.request('/health', { method: 'POST', body: {} });
    await expectError(del, 405, 'METHOD_NOT_ALLOWED');
    expect(del.headers.get('allow')).toBe('GET');
  });

  it('non-JSON content type → 415 naming the expected type', async () => {
    const e = await expectError(
      await post('{"sql": "SELECT 1"}', { 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expect(e.message).toContain('application/json');
  });

  it('a body without a content type → 415', async () => {
    await expectError(await post('{"sql": "SELECT 1"}', {}), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('SQL over the maximum length → 413 naming sql', async () => {
    const sql = `SELECT 1 AS x ${' '.repeat(100_001)}`;
    const e = await expectError(await spectra.query('acme', { sql }), 413, 'PAYLOAD_TOO_LARGE');
    expect(e.details).toMatchObject({ field: 'sql', max_length: 100_000 });
  });

  it('a 2 MB body → 413, and the connection is not reused for the next request', async () => {
    const sql = `SELECT '${'x'.repeat(2 * 1024 * 1024)}' AS x`;
    const res = await spectra.query('acme', { sql });
    const e = await expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(e.details).toMatchObject({ max_bytes: 1_048_576 });
    expect(res.headers.get('connection')).toBe('close');
    // The next request must not land on a socket the server is about to close.
    for (let i = 0; i < 3; i++) await ok(await spectra.query('acme', { sql: 'SELECT 1 AS x' }));
  });

  it('unknown params name → 400 naming it', async () => {
    const e = await expectError(
      await spectra.query('acme', { sql: 'SELECT :a AS a', params: { a: 1, b: 2 } }),
      400,
      'INVALID_REQUEST',
    );
    expect(e.details).toMatchObject({ field: 'params', param: 'b' });
    expect(e.message).toContain('b');
  });

  it('missing param → 400 naming it', async () => {
    const e = await expectError(
      await spectra.query('acme', { sql: 'SELECT :a AS a, :b AS b', params: { a: 1 } }),
      400,
      'INVALID_REQUEST',
    );
    expect(e.details).toMatchObject({ field: 'params', param: 'b' });
    expect(e.message).toContain(':b');
  });

  it('the same param given twice (params and the Data-API array) → 400', async () => {
    const e = await expectError(
      await spectra.query('acme', {
        sql: 'SELECT :a AS a',
        params: { a: 1 },
        parameters: [{ name: 'a', value: 2 }],
      }),
      400,
      'INVALID_REQUEST',
    );
    expect(e.details).toMatchObject({ param: 'a' });
  });

  it('SQL that is not one SELECT → 400 from the guard; a warehouse error → 422 with SQLSTATE', async () => {
    await expectError(await spectra.query('acme', { sql: 'DELETE FROM sales' }), 400, 'SQL_BLOCKED');
    await expectError(await spectra.query('acme', { sql: 'SELEC 1' }), 400, 'INVALID_SQL');
    const e = await expectError(
      await spectra.query('acme', { sql: 'SELECT no_such_column FROM sales' }),
      422,
      'QUERY_FAILED',
    );
    expect(e.details).toMatchObject({ sqlstate: '42703' });
  });
});

describe('authentication envelope', () => {
  it('missing Authorization → 401 with WWW-Authenticate', async () => {
    const res = await spectra.request('/v1/queries', { body: { sql: 'SELECT 1' } });
    await expectError(res, 401, 'UNAUTHORIZED');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="spectra"/);
  });

  it.each([
    ['Basic scheme', 'Basic YWxhZGRpbjpvcGVu'],
    ['Bearer without token', 'Bearer '],
    ['a token with spaces', 'Bearer spk acme x'],
  ])('malformed Authorization (%s) → 401 with WWW-Authenticate', async (_n, value) => {
    const res = await spectra.request('/v1/queries', {
      body: { sql: 'SELECT 1' },
      headers: { authorization: value },
    });
    await expectError(res, 401, 'UNAUTHORIZED');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('a well-formed but wrong key → 401 invalid_token, naming no secret', async () => {
    const key = spectra.keys.acme!;
    const wrong = `${key.slice(0, -4)}${key.endsWith('0000') ? '1111' : '0000'}`;
    const res = await spectra.request('/v1/queries', { key: wrong, body: { sql: 'SELECT 1' } });
    const e = await expectError(res, 401, 'UNAUTHORIZED');
    expect(res.headers.get('www-authenticate')).toContain('invalid_token');
    expect(JSON.stringify(e)).not.toContain(wrong);
  });

  it('X-Tenant-ID naming another tenant → 403; naming the caller → 200', async () => {
    await expectError(
      await spectra.query('acme', { sql: 'SELECT 1 AS x' }, { 'x-tenant-id': 'globex' }),
      403,
      'FORBIDDEN',
    );
    await ok(await spectra.query('acme', { sql: 'SELECT 1 AS x' }, { 'x-tenant-id': 'acme' }));
  });
});

describe('bind parameters', () => {
  it('a :name value is bound, never spliced: an injection attempt is just a string', async () => {
    const evil = "'; DROP TABLE sales; --";
    const body = await ok(await spectra.query('acme', { sql: 'SELECT :v AS v', params: { v: evil } }));
    expect(body.data).toEqual([{ v: evil }]);

    const where = await ok(
      await spectra.query('acme', {
        sql: 'SELECT count(*) AS n FROM sales WHERE region = :r',
        params: { r: "EMEA' OR '1'='1" },
      }),
    );
    expect(where.data).toEqual([{ n: 0 }]);
    const still = await ok(await spectra.query('acme', { sql: 'SELECT count(*) > 0 AS ok FROM sales' }));
    expect(still.data).toEqual([{ ok: true }]);
  });

  it('a :name inside a string literal or comment is not a placeholder', async () => {
    const body = await ok(
      await spectra.query('acme', {
        sql: "SELECT ':nope' AS s, :yes AS y -- :also_not",
        params: { yes: 'y' },
      }),
    );
    expect(body.data).toEqual([{ s: ':nope', y: 'y' }]);
  });

  it('the Data-API array form binds the same values as params', async () => {
    const sql = 'SELECT count(*) AS n FROM sales WHERE region = :r AND quantity >= :q';
    const a = await ok(await spectra.query('acme', { sql, params: { r: 'EMEA', q: 2 } }));
    const b = await ok(
      await spectra.query('acme', {
        sql,
        parameters: [
          { name: 'r', value: 'EMEA' },
          { name: 'q', value: 2 },
        ],
      }),
    );
    expect(a.data[0].n).toBeGreaterThan(0);
    expect(b.data).toEqual(a.data);
  });

  it('null, boolean and number values keep their meaning', async () => {
    const body = await ok(
      await spectra.query('acme', {
        sql: 'SELECT CAST(:z AS text) IS NULL AS z_is_null, CAST(:b AS boolean) AS b, CAST(:i AS integer) + 1 AS i, CAST(:f AS double precision) * 2 AS f, CAST(:big AS numeric) AS big',
        params: { z: null, b: false, i: 41, f: 0.25, big: 12345678901234 },
      }),
    );
    expect(body.data).toEqual([{ z_is_null: true, b: false, i: 42, f: 0.5, big: '12345678901234' }]);
  });

  it('a repeated placeholder binds one value', async () => {
    const body = await ok(
      await spectra.query('acme', { sql: 'SELECT :x AS a, :x AS b', params: { x: 'same' } }),
    );
    expect(body.data).toEqual([{ a: 'same', b: 'same' }]);
  });
});

describe('jobs', () => {
  let tenant: { id: string; key: string };
  beforeAll(async () => {
    const id = `jobs-${Date.now().toString(36)}`;
    const res = await spectra.request('/v1/admin/tenants', {
      key: spectra.adminKey,
      body: { tenant_id: id },
    });
    expect(res.status).toBe(201);
    tenant = { id, key: (await json(res)).api_key };
  });
  afterAll(async () => {
    if (tenant)
      await spectra.request(`/v1/admin/tenants/${tenant.id}`, { key: spectra.adminKey, method: 'DELETE' });
  });

  const asTenant = (path: string, body?: unknown) =>
    spectra.request(path, { key: tenant.key, ...(body === undefined ? {} : { body }) });

  it('every sync query creates a job readable through GET /v1/jobs/{id}', async () => {
    const sql = `${series(3)}`;
    const q = await ok(await asTenant('/v1/queries', { sql }));
    expect(q.job_id).toMatch(/^job-/);
    const job = await ok(await asTenant(`/v1/jobs/${q.job_id}`));
    expect(job).toMatchObject({
      job_id: q.job_id,
      tenant_id: tenant.id,
      status: 'COMPLETED',
      sql,
      async: false,
      row_count: 3,
      truncated: false,
      error: null,
    });
    for (const t of ['submitted_at', 'started_at', 'completed_at'] as const) {
      expect(new Date(job[t]).toISOString()).toBe(job[t]);
    }
    expect(job.execution_time_ms).toBeGreaterThanOrEqual(0);
  });

  it('another tenant’s job id → 404, not 403', async () => {
    const q = await ok(await asTenant('/v1/queries', { sql: 'SELECT 1 AS x' }));
    await expectError(await spectra.request(`/v1/jobs/${q.job_id}`, { tenant: 'acme' }), 404, 'NOT_FOUND');
    await expectError(await asTenant('/v1/jobs/job-doesnotexist'), 404, 'NOT_FOUND');
  });

  it('a failed query records a FAILED job with the error code', async () => {
    await expectError(await asTenant('/v1/queries', { sql: 'SELECT 1/0 AS x' }), 422, 'QUERY_FAILED');
    const list = await ok(await asTenant('/v1/jobs?status=FAILED&limit=1'));
    expect(list.jobs).toHaveLength(1);
    expect(list.jobs[0]).toMatchObject({
      status: 'FAILED',
      sql: 'SELECT 1/0 AS x',
      error: { code: 'QUERY_FAILED', message: 'division by zero' },
    });
  });

  it('GET /v1/jobs pages newest first with a working next_cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await ok(await asTenant('/v1/queries', { sql: `SELECT ${i} AS i` }))).job_id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const qs: string = `?status=COMPLETED&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await ok(await asTenant(`/v1/jobs${qs}`));
      expect(page.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.jobs.map((j: { job_id: string }) => j.job_id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 20);
    // Newest first: the five just created lead, in reverse order, and nothing repeats.
    expect(seen.slice(0, 5)).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);
    const all = await ok(await asTenant('/v1/jobs?status=COMPLETED&limit=100'));
    expect(seen).toEqual(all.jobs.map((j: { job_id: string }) => j.job_id));
    expect(all.next_cursor).toBeNull();
  });

  it('a tenant never sees another tenant’s jobs in its list', async () => {
    const list = await ok(await asTenant('/v1/jobs?limit=100'));
    expect(list.jobs.length).toBeGreaterThan(0);
    expect(new Set(list.jobs.map((j: { tenant_id: string }) => j.tenant_id))).toEqual(new Set([tenant.id]));
  });

  it.each([['not-base64!'], ['e30'], [Buffer.from('["x","y"]').toString('base64url')]])(
    'a malformed cursor (%s) → 400 naming cursor',
    async (cursor) => {
      const e = await expectError(
        await asTenant(`/v1/jobs?cursor=${encodeURIComponent(cursor)}`),
        400,
        'INVALID_REQUEST',
      );
      expect(e.details.field).toBe('cursor');
    },
  );

  it('bad list parameters → 400', async () => {
    await expectError(await asTenant('/v1/jobs?limit=0'), 400, 'INVALID_REQUEST');
    await expectError(await asTenant('/v1/jobs?limit=abc'), 400, 'INVALID_REQUEST');
    await expectError(await asTenant('/v1/jobs?status=DONE'), 400, 'INVALID_REQUEST');
  });
});
