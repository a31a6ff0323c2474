/**
 * PIVOT/UNPIVOT over a table, a CTE or `SELECT *` through POST /v1/queries (issue 13): on the
 * embedded warehouse the implicit columns come from the catalog as the tenant's role sees it, and
 * the answer is Redshift's (computed here from the plain rows); a relation the tenant cannot read
 * whole is refused without naming a column; only the caller's rows count; attacks stay blocked; the
 * Data API warehouse still receives the PIVOT as written.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import type { RedshiftDataFake } from '../fakes/redshift-data-fake.js';
import { onAwsStack } from '../helpers/aws-stack.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { adminClient } from '../helpers/pg-fixture.js';
import { dataApiSettings, startRedshiftDataFake } from '../helpers/redshift-data.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { waitFor } from '../helpers/time.js';

type Row = Record<string, unknown>;

const HIDDEN = 'pivot_e2e_hidden';
const PARTIAL = 'pivot_e2e_partial';
const HIDDEN_COLUMN = 'hidden_e2e_secret';
/** A schema the tenants have no USAGE on (its table is granted, the schema is not). */
const PRIVATE = 'pivot_e2e_private';

let spectra: TestSpectra;
let admin: pg.Client;
let control: ControlDb;

// On the AWS stack startSpectra is the Data API warehouse: the Redshift part below covers it.
describe.skipIf(onAwsStack())('PIVOT and UNPIVOT over a table on the embedded warehouse', () => {
  beforeAll(async () => {
    admin = await adminClient();
    await admin.query(`
      DROP TABLE IF EXISTS public.${HIDDEN}, public.${PARTIAL};
      DROP SCHEMA IF EXISTS ${PRIVATE} CASCADE;
      CREATE SCHEMA ${PRIVATE};
      CREATE TABLE ${PRIVATE}.t (${HIDDEN_COLUMN} integer, region text, amount integer);
      GRANT SELECT ON ${PRIVATE}.t TO spectra_tenants;
      CREATE TABLE public.${HIDDEN} (${HIDDEN_COLUMN} integer, region text, amount integer);
      CREATE TABLE public.${PARTIAL} (${HIDDEN_COLUMN} text, region text, amount integer);
      INSERT INTO public.${PARTIAL} VALUES ('x', 'EMEA', 5), ('y', 'EMEA', 7), ('z', 'AMER', 1);
      GRANT SELECT (region, amount) ON public.${PARTIAL} TO spectra_tenants;`);
    // Its own control database: the job worker below must claim only this file's jobs.
    control = await createControlDb('pivot_e2e');
    spectra = await startSpectra({
      SPECTRA_STATE_URL: control.url,
      SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
      // The guard lets the schema through: the warehouse's privileges alone must stop the catalog read.
      SPECTRA_SQL_ALLOWED_SCHEMAS: `public,${PRIVATE}`,
    });
    await startJobWorker(spectra.core);
  }, 120_000);
  afterAll(async () => {
    await spectra?.close();
    await control?.drop();
    await admin?.query(
      `DROP TABLE IF EXISTS public.${HIDDEN}, public.${PARTIAL}; DROP SCHEMA IF EXISTS ${PRIVATE} CASCADE`,
    );
    await admin?.end();
  });

  async function run(tenant: string, sql: string): Promise<{ rows: Row[]; columns: string[] }> {
    const res = await spectra.query(tenant, { sql, limit: 10_000 });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.metadata.truncated).toBe(false);
    return { rows: body.data, columns: body.metadata.columns };
  }

  /** The tenant's sales as plain rows: what Redshift's PIVOT and UNPIVOT read. */
  const SALES_COLUMNS = [
    'sale_id',
    'tenant_id',
    'customer_id',
    'product_id',
    'region',
    'quantity',
    'amount',
    'sold_at',
  ];
  /** A sample of each tenant's sales, so that every result stays well under the row and byte caps. */
  const SAMPLE = 'sale_id % 97 = 5';
  const plainSales = async (tenant: string) =>
    (await run(tenant, `SELECT ${SALES_COLUMNS.join(', ')} FROM sales WHERE ${SAMPLE}`)).rows;
  const bySale = (a: Row, b: Row) =>
    Number(a.sale_id) - Number(b.sale_id) || String(a.k).localeCompare(String(b.k));

  it('PIVOT over a table groups by every column but the FOR and aggregated ones, as Redshift does', async () => {
    const sales = await plainSales('acme');
    const { rows, columns } = await run(
      'acme',
      `SELECT * FROM sales PIVOT (SUM(amount) FOR region IN ('AMER', 'EMEA')) WHERE ${SAMPLE}`,
    );
    const implicit = SALES_COLUMNS.filter((c) => c !== 'region' && c !== 'amount');
    expect(columns).toEqual([...implicit, 'amer', 'emea']);
    // sale_id is among the implicit columns: every group is one sale.
    const expected = sales.map((s) => ({
      ...Object.fromEntries(implicit.map((c) => [c, s[c]])),
      amer: s.region === 'AMER' ? s.amount : null,
      emea: s.region === 'EMEA' ? s.amount : null,
    }));
    expect([...rows].sort(bySale)).toEqual(expected.sort(bySale));
  });

  it('PIVOT over a CTE and over SELECT * of a table group by the columns the source has', async () => {
    const sales = await plainSales('initech');
    const totals = new Map<string, { amer: number | null; apac: number | null }>();
    for (const s of sales) {
      const key = String(s.product_id);
      const t = totals.get(key) ?? { amer: null, apac: null };
      if (s.region === 'AMER') t.amer = (t.amer ?? 0) + Number(s.quantity);
      if (s.region === 'APAC') t.apac = (t.apac ?? 0) + Number(s.quantity);
      totals.set(key, t);
    }
    const expected = [...totals].map(([product, t]) => ({ product_id: Number(product), ...t }));
    const sorted = (rows: Row[]) =>
      rows
        .map((r) => ({
          product_id: Number(r.product_id),
          amer: r.amer === null ? null : Number(r.amer),
          apac: r.apac === null ? null : Number(r.apac),
        }))
        .sort((a, b) => a.product_id - b.product_id);
    const viaCte = await run(
      'initech',
      `WITH s AS (SELECT product_id, region, quantity FROM sales WHERE ${SAMPLE}) SELECT * FROM s PIVOT (SUM(quantity) FOR region IN ('AMER', 'APAC'))`,
    );
    expect(viaCte.columns).toEqual(['product_id', 'amer', 'apac']);
    expect(sorted(viaCte.rows)).toEqual(sorted(expected));

    const viaStar = await run(
      'initech',
      `SELECT * FROM (SELECT * FROM sales WHERE ${SAMPLE}) PIVOT (COUNT(*) AS n FOR region IN ('AMER' AS am))`,
    );
    expect(viaStar.columns).toEqual([...SALES_COLUMNS.filter((c) => c !== 'region'), 'am_n']);
    expect(viaStar.rows).toHaveLength(sales.length);
    expect(viaStar.rows.reduce((n, r) => n + Number(r.am_n), 0)).toBe(
      sales.filter((s) => s.region === 'AMER').length,
    );
  });

  it('UNPIVOT over a table keeps every column not in the IN list, as Redshift does', async () => {
    const sales = await plainSales('globex');
    const { rows, columns } = await run(
      'globex',
      `SELECT * FROM sales UNPIVOT (v FOR k IN (quantity, amount)) WHERE ${SAMPLE}`,
    );
    const kept = SALES_COLUMNS.filter((c) => c !== 'quantity' && c !== 'amount');
    expect(columns).toEqual([...kept, 'k', 'v']);
    const expected = sales.flatMap((s) =>
      (['quantity', 'amount'] as const).map((k) => ({
        ...Object.fromEntries(kept.map((c) => [c, s[c]])),
        k,
        v: Number(s[k]),
      })),
    );
    const numeric = rows.map((r) => ({ ...r, v: Number(r.v) }));
    expect(numeric.sort(bySale)).toEqual(expected.sort(bySale));
  });

  it('only the caller’s rows are rotated', async () => {
    for (const tenant of ['acme', 'globex']) {
      const { rows } = await run(
        tenant,
        `SELECT * FROM sales UNPIVOT (v FOR k IN (quantity)) WHERE ${SAMPLE}`,
      );
      expect(rows.length).toBe((await plainSales(tenant)).length);
      expect(new Set(rows.map((r) => r.tenant_id))).toEqual(new Set([tenant]));
    }
  });

  it('a relation the tenant cannot read whole is refused without naming its columns', async () => {
    const cases = [
      [`SELECT * FROM ${HIDDEN} PIVOT (SUM(amount) FOR region IN ('EMEA'))`, 'permission denied'],
      [`SELECT * FROM ${PARTIAL} PIVOT (SUM(amount) FOR region IN ('EMEA'))`, 'permission denied'],
      [`SELECT * FROM (SELECT * FROM ${PARTIAL}) UNPIVOT (v FOR k IN (amount))`, 'permission denied'],
      ["SELECT * FROM pivot_e2e_nowhere PIVOT (SUM(amount) FOR region IN ('EMEA'))", 'does not exist'],
      [`SELECT * FROM ${PRIVATE}.t PIVOT (SUM(amount) FOR region IN ('EMEA'))`, 'permission denied'],
    ];
    for (const [sql, message] of cases) {
      const res = await spectra.query('acme', { sql });
      const text = await res.text();
      expect(res.status, text).toBe(422);
      expect(JSON.parse(text).error.code).toBe('QUERY_FAILED');
      expect(JSON.parse(text).error.message).toContain(message);
      expect(text).not.toContain(HIDDEN_COLUMN);
    }
    // The columns it may read still pivot when the statement names them.
    const { rows } = await run(
      'acme',
      `SELECT * FROM (SELECT region, amount FROM ${PARTIAL}) PIVOT (SUM(amount) FOR region IN ('EMEA', 'AMER'))`,
    );
    expect(rows.map((r) => ({ emea: Number(r.emea), amer: Number(r.amer) }))).toEqual([
      { emea: 12, amer: 1 },
    ]);
  });

  it('attacks wrapped in a PIVOT over a table stay blocked before any catalog read', async () => {
    const attacks = [
      "SELECT * FROM spectra_globex.sales PIVOT (SUM(amount) FOR region IN ('EMEA'))",
      "SELECT * FROM sales PIVOT (MAX(pg_read_file('/etc/passwd')) FOR region IN ('EMEA'))",
      "SELECT * FROM sales PIVOT (SUM(pg_sleep(1)) FOR region IN ('EMEA'))",
      "SELECT * FROM (SELECT *, set_config('role', 'postgres', true) AS r FROM sales) UNPIVOT (v FOR k IN (r))",
      'SELECT * FROM pg_catalog.pg_authid UNPIVOT (v FOR k IN (rolname))',
      "WITH s AS (SELECT * FROM pg_shadow) SELECT * FROM s PIVOT (MAX(passwd) FOR usename IN ('postgres'))",
      "SELECT * FROM information_schema.columns PIVOT (COUNT(*) FOR table_name IN ('sales'))",
    ];
    for (const sql of attacks) {
      const res = await spectra.query('acme', { sql });
      const body = await json(res);
      expect(res.status, sql).toBe(400);
      expect(body.error.code, sql).toBe('SQL_BLOCKED');
    }
  });

  it('an async job over a table pivots too', async () => {
    const sql = `SELECT * FROM sales PIVOT (SUM(amount) FOR region IN ('AMER', 'EMEA')) WHERE ${SAMPLE}`;
    const submitted = await spectra.query('acme', { sql, async: true });
    const job = await json(submitted);
    expect(submitted.status, JSON.stringify(job)).toBe(202);
    const done = await waitFor(
      async () => {
        const state = await json(await spectra.request(`/v1/jobs/${job.job_id}`, { tenant: 'acme' }));
        return ['COMPLETED', 'FAILED'].includes(state.status) ? state : undefined;
      },
      { what: `job ${job.job_id}` },
    );
    expect(done.status, JSON.stringify(done.error)).toBe('COMPLETED');
    const page = await json(await spectra.request(`/v1/jobs/${job.job_id}/results`, { tenant: 'acme' }));
    expect(page.data).toEqual((await run('acme', sql)).rows);
  });

  it('a bulk export is planned with the columns the tenant may read, or refused naming none', async () => {
    const create = (query: string) =>
      spectra.request('/v1/bulk/jobs', { tenant: 'acme', body: { operation: 'query', query } });
    const ok = await create("SELECT * FROM sales PIVOT (SUM(amount) FOR region IN ('EMEA'))");
    expect(ok.status, await ok.clone().text()).toBe(201);
    const refused = await create(`SELECT * FROM ${HIDDEN} PIVOT (SUM(amount) FOR region IN ('EMEA'))`);
    const text = await refused.text();
    expect(refused.status, text).toBe(422);
    expect(text).not.toContain(HIDDEN_COLUMN);
  });
});

describe('PIVOT over a table on the Data API warehouse', () => {
  let fake: RedshiftDataFake;
  let viaDataApi: TestSpectra;
  beforeAll(async () => {
    fake = await startRedshiftDataFake({ pageRows: 500, chunkRows: 100 });
    viaDataApi = await startSpectra(dataApiSettings(fake));
  }, 120_000);
  afterAll(async () => {
    await viaDataApi?.close();
    await fake?.stop();
  });

  it('is sent as written: Redshift knows the columns', async () => {
    await viaDataApi.query('acme', { sql: "SELECT * FROM sales PIVOT (SUM(amount) FOR region IN ('EMEA'))" });
    const sent = fake.requests.filter((r) => r.operation === 'ExecuteStatement').at(-1)?.input.Sql;
    expect(String(sent).replace(/\s+/g, ' ')).toBe(
      "SELECT * FROM sales PIVOT (sum(amount) FOR region IN ('EMEA')) LIMIT 10001",
    );
  });
});
