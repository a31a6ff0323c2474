/**
 * The Query API with SPECTRA_WAREHOUSE=redshift-data: the real service, the real AWS SDK (endpoint
 * from the SDK's own AWS_ENDPOINT_URL_REDSHIFT_DATA) and the Data API fake on the run's
 * PostgreSQL. Same answers as the PostgreSQL adapter, one Data API session per tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedshiftDataFake } from '../fakes/redshift-data-fake.js';
import { pgFacts } from '../helpers/pg-fixture.js';
import { FAKE_CLUSTER, startRedshiftDataFake } from '../helpers/redshift-data.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

let fake: RedshiftDataFake;
let viaDataApi: TestSpectra;
let viaPostgres: TestSpectra;

beforeAll(async () => {
  fake = await startRedshiftDataFake({ pageRows: 500, chunkRows: 100 });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_REDSHIFT_DATA: fake.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  viaDataApi = await startSpectra({
    SPECTRA_WAREHOUSE: 'redshift-data',
    SPECTRA_AWS_REGION: 'us-east-1',
    SPECTRA_REDSHIFT_CLUSTER_ID: FAKE_CLUSTER,
    SPECTRA_REDSHIFT_DATABASE: pgFacts().warehouseDb,
  });
  viaPostgres = await startSpectra();
});
afterAll(async () => {
  await viaDataApi?.close();
  await viaPostgres?.close();
  await fake?.stop();
});

const TYPED = `SELECT CAST(9007199254740993 AS bigint) AS big, CAST(1.50 AS numeric(12,2)) AS dec,
  CAST(0.1 AS double precision) AS f, true AS b, CAST('x' AS char(3)) AS ch, CAST('v' AS varchar(5)) AS vc,
  CAST('2024-01-02 03:04:05.5+00' AS timestamptz) AS tz, CAST('2024-01-02' AS date) AS d,
  CAST('{"id": 12345678901234567890}' AS jsonb) AS j, ARRAY[1, NULL, 3] AS arr,
  CAST(NULL AS integer) AS n, '' AS empty, 'a,"b"' AS quoted`;

describe('Query API on the Redshift Data API adapter', () => {
  it('returns the same column types and values as on PostgreSQL', async () => {
    const [a, b] = await Promise.all([
      viaDataApi.query('acme', { sql: TYPED }).then(json),
      viaPostgres.query('acme', { sql: TYPED }).then(json),
    ]);
    expect(a.metadata.column_types).toEqual(b.metadata.column_types);
    expect(a.data).toEqual(b.data);
    expect(a.data[0]).toMatchObject({ big: '9007199254740993', n: null, empty: '', quoted: 'a,"b"' });
  });

  it('runs as the tenant (row-level security), binds :params, caps rows and says so', async () => {
    const res = await viaDataApi.query('globex', {
      sql: 'SELECT current_user AS who, tenant_id, sale_id FROM sales WHERE sale_id > :min ORDER BY sale_id',
      params: { min: 0 },
      limit: 7,
    });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data).toHaveLength(7);
    expect(new Set(body.data.map((r: { tenant_id: string }) => r.tenant_id))).toEqual(new Set(['globex']));
    expect(body.metadata.truncated).toBe(true);
    const sent = fake.requests.filter((r) => r.operation === 'ExecuteStatement').at(-1)!.input;
    expect(sent.Parameters).toEqual([{ name: 'p1', value: '0' }]);
  });

  it('20 queries of one tenant run on one Data API session', async () => {
    const before = fake.statementsRun().length;
    for (let i = 0; i < 20; i++) {
      const res = await viaDataApi.query('initech', { sql: 'SELECT current_user AS who' });
      expect((await json(res)).data).toEqual([{ who: 'tenant_initech' }]);
    }
    const sessions = new Set(
      fake
        .statementsRun()
        .slice(before)
        .map((s) => s.sessionId),
    );
    expect(sessions.size).toBe(1);
    expect([...sessions][0]).toBeDefined();
  });
});
