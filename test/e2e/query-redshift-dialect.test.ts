/**
 * Redshift SQL through POST /v1/queries (issue 13): on the PostgreSQL warehouse each construct runs
 * as the tenant, rendered as PostgreSQL; through the Data API adapter the same statement reaches the
 * stand-in in Redshift syntax (its received text is asserted). PostgreSQL-only SQL is refused before
 * any round trip on the Data API warehouse and runs with `metadata.warnings` on PostgreSQL; the
 * stand-in itself refuses what Redshift documents as unsupported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedshiftDataFake } from '../fakes/redshift-data-fake.js';
import { pgFacts } from '../helpers/pg-fixture.js';
import { dataApiSettings, startRedshiftDataFake } from '../helpers/redshift-data.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

let fake: RedshiftDataFake;
let viaDataApi: TestSpectra;
let viaPostgres: TestSpectra;
let strictPostgres: TestSpectra;

beforeAll(async () => {
  fake = await startRedshiftDataFake({ pageRows: 500, chunkRows: 100 });
  viaDataApi = await startSpectra(dataApiSettings(fake));
  viaPostgres = await startSpectra();
  strictPostgres = await startSpectra({ SPECTRA_SQL_DIALECT: 'redshift' });
}, 120_000);
afterAll(async () => {
  await viaDataApi?.close();
  await viaPostgres?.close();
  await strictPostgres?.close();
  await fake?.stop();
});

/** The text the stand-in received for the last ExecuteStatement, whitespace collapsed. */
const lastReceived = () =>
  String(fake.requests.filter((r) => r.operation === 'ExecuteStatement').at(-1)?.input.Sql).replace(
    /\s+/g,
    ' ',
  );

async function both(tenant: string, sql: string) {
  const pgRes = await viaPostgres.query(tenant, { sql });
  const pgBody = await json(pgRes);
  expect(pgRes.status, JSON.stringify(pgBody)).toBe(200);
  const rsRes = await viaDataApi.query(tenant, { sql });
  const rsBody = await json(rsRes);
  expect(rsRes.status, JSON.stringify(rsBody)).toBe(200);
  expect(rsBody.data).toEqual(pgBody.data);
  return { rows: pgBody.data as Record<string, unknown>[], received: lastReceived() };
}

describe('Redshift SQL on both warehouses', () => {
  it('SELECT TOP 100 DISTINCT tenant_id FROM sales answers only the caller’s tenant', async () => {
    const { rows, received } = await both('globex', 'SELECT TOP 100 DISTINCT tenant_id FROM sales');
    expect(rows).toEqual([{ tenant_id: 'globex' }]);
    expect(received).toBe('SELECT DISTINCT tenant_id FROM sales LIMIT 100');
  });

  it('QUALIFY over a select-list alias keeps the top sale per region; Redshift receives QUALIFY', async () => {
    const sql =
      'SELECT region, sale_id, rank() OVER (PARTITION BY region ORDER BY amount DESC, sale_id) AS r FROM sales QUALIFY r = 1 ORDER BY region';
    const { rows, received } = await both('acme', sql);
    expect(rows.map((r) => r.region)).toEqual(['AMER', 'APAC', 'EMEA']);
    expect(rows.every((r) => r.r === '1' || r.r === 1)).toBe(true);
    expect(received).toContain('FROM sales QUALIFY r = 1 ORDER BY region LIMIT');
  });

  it('QUALIFY with SELECT * and a window function in the condition', async () => {
    const sql =
      'SELECT * FROM sales QUALIFY row_number() OVER (PARTITION BY region ORDER BY sale_id) = 1 ORDER BY region';
    const { rows, received } = await both('initech', sql);
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.tenant_id))).toEqual(new Set(['initech']));
    expect(Object.keys(rows[0]!)).toContain('sold_at');
    expect(received).toContain('QUALIFY row_number() OVER');
  });

  it('APPROXIMATE COUNT(DISTINCT …), LISTAGG(DISTINCT …) WITHIN GROUP, CONVERT, NVL, SYSDATE', async () => {
    const sql = `SELECT APPROXIMATE COUNT(DISTINCT region) AS regions,
      LISTAGG(DISTINCT region, ',') WITHIN GROUP (ORDER BY region) AS names,
      CONVERT(integer, NVL(NULL, 7)) AS seven, SYSDATE IS NOT NULL AS has_date FROM sales`;
    const { rows, received } = await both('acme', sql);
    expect(rows).toEqual([{ regions: 3, names: 'AMER,APAC,EMEA', seven: 7, has_date: true }]);
    expect(received).toContain('APPROXIMATE count(DISTINCT region)');
    expect(received).toContain("listagg(DISTINCT region, ',') WITHIN GROUP (ORDER BY region)");
    expect(received).toContain('nvl(NULL, 7)');
    expect(received).toContain('SYSDATE IS NOT NULL');
  });
});

describe('PostgreSQL-only SQL', () => {
  const SERIES = 'SELECT count(*) FILTER (WHERE g > 1) AS n FROM generate_series(1, 3) AS g';

  it('is refused on the Data API warehouse before any round trip, naming the Redshift alternative', async () => {
    const before = fake.requests.length;
    const res = await viaDataApi.query('acme', { sql: SERIES });
    const body = await json(res);
    expect(res.status).toBe(400);
    expect(body.error.code).toBe('UNSUPPORTED_ON_REDSHIFT');
    expect(body.error.details.construct).toBe('generate_series()');
    expect(body.error.details.alternative).toMatch(/numbers table|recursive/);
    expect(fake.requests.length).toBe(before);
  });

  it('runs on the embedded warehouse with a warning per construct', async () => {
    const res = await viaPostgres.query('acme', { sql: SERIES });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data).toEqual([{ n: 2 }]);
    expect(body.metadata.warnings.map((w: { construct: string }) => w.construct)).toEqual([
      'generate_series()',
      'aggregate FILTER (WHERE …)',
      'function in FROM (table function)',
    ]);
  });

  it('SPECTRA_SQL_DIALECT=redshift makes the embedded shape strict', async () => {
    const res = await strictPostgres.query('acme', { sql: SERIES });
    expect(res.status).toBe(400);
    expect((await json(res)).error.code).toBe('UNSUPPORTED_ON_REDSHIFT');
  });

  it('Redshift SQL carries no warnings', async () => {
    const body = await json(await viaPostgres.query('acme', { sql: 'SELECT TOP 1 region FROM sales' }));
    expect(body.metadata.warnings).toBeUndefined();
  });

  it('the stand-in itself refuses what Redshift does not support, whatever the guard let through', async () => {
    const warehouse = viaDataApi.core.warehouse;
    const tenant = pgFacts().tenants[0]!;
    const run = (sql: string) =>
      warehouse.execute(
        {
          tenantId: tenant.tenantId,
          dbUser: tenant.dbUser,
          timeoutMs: 30_000,
          maxRows: 10,
          label: 'dialect',
        },
        { sql, params: [] },
        { columns: () => {}, rows: () => {} },
      );
    for (const [sql, said] of [
      ['SELECT ARRAY[1, 2] AS a', /array constructors/],
      ["SELECT '{}'::jsonb AS j", /type jsonb/],
      ['SELECT g FROM generate_series(1, 2) AS g', /generate_series/],
      ['SELECT count(*) FILTER (WHERE true) FROM sales', /FILTER/],
    ] as const) {
      await expect(run(sql), sql).rejects.toMatchObject({
        code: 'QUERY_FAILED',
        message: expect.stringMatching(said),
      });
    }
    // Strings and quoted names are not constructs.
    await expect(run(`SELECT 'ARRAY[1]' AS "generate_series"`)).resolves.toBeDefined();
  });
});
