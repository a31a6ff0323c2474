/**
 * The Query API with SPECTRA_WAREHOUSE=redshift-data: the real service, the real AWS SDK (endpoint
 * from the SDK's own AWS_ENDPOINT_URL_REDSHIFT_DATA) and the Data API fake on the run's
 * PostgreSQL. Same answers as the PostgreSQL adapter, and session reuse (issue 7): one Data API
 * session per tenant, recorded in the StateStore (here the PostgreSQL one), never shared between
 * tenants, replaced transparently when it expires, and shared by processes on the same StateStore.
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTables, stateTableNames } from '../../src/state/dynamodb/index.js';
import type { WarehouseSessionStore } from '../../src/state/port.js';
import { PostgresStateStore } from '../../src/state/postgres/index.js';
import type { RedshiftDataWarehouse } from '../../src/warehouse/redshift-data/index.js';
import { RecordingSink } from '../contracts/warehouse-contract.js';
import type { RedshiftDataFake } from '../fakes/redshift-data-fake.js';
import { tableSettings } from '../helpers/aws-stack.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../helpers/dynamodb-fixture.js';
import { pgFacts } from '../helpers/pg-fixture.js';
import {
  dataApiSettings,
  dataApiWarehouse,
  FAKE_CLUSTER,
  startRedshiftDataFake,
} from '../helpers/redshift-data.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

let fake: RedshiftDataFake;
let viaDataApi: TestSpectra;
let viaPostgres: TestSpectra;

beforeAll(async () => {
  fake = await startRedshiftDataFake({ pageRows: 500, chunkRows: 100 });
  viaDataApi = await startSpectra(dataApiSettings(fake));
  viaPostgres = await startSpectra();
});
afterAll(async () => {
  await viaDataApi?.close();
  await viaPostgres?.close();
  await fake?.stop();
});

/** Redshift's types only: arrays and jsonb are refused for a Redshift warehouse (UNSUPPORTED_ON_REDSHIFT). */
const TYPED = `SELECT CAST(9007199254740993 AS bigint) AS big, CAST(1.50 AS numeric(12,2)) AS dec,
  CAST(0.1 AS double precision) AS f, true AS b, CAST('x' AS char(3)) AS ch, CAST('v' AS varchar(5)) AS vc,
  CAST('2024-01-02 03:04:05.5+00' AS timestamptz) AS tz, CAST('2024-01-02' AS date) AS d,
  CAST(NULL AS integer) AS n, '' AS empty, 'a,"b"' AS quoted`;

/** The Data API sessions the fake ran statements on since statement number `before`. */
const sessionsUsedSince = (before: number) =>
  new Set(
    fake
      .statementsRun()
      .slice(before)
      .map((s) => s.sessionId),
  );

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
});

const WHO = { sql: 'SELECT current_user AS who' };
const dbUserOf = (tenantId: string) => pgFacts().tenants.find((t) => t.tenantId === tenantId)!.dbUser;
const warehouseOf = (s: TestSpectra) => s.core.warehouse as RedshiftDataWarehouse;

/**
 * The sessions a StateStore holds idle for (tenant, db user): claimed one by one, then released.
 * The adapter keys them by db user and its IAM identity (`default` outside Lambda; issue 14).
 */
async function storedSessions(store: WarehouseSessionStore, tenantId: string, user: string) {
  const dbUser = `${user}@default`;
  const claimed = [];
  let live = 0;
  for (;;) {
    const t = Date.now();
    const claim = await store.claim(tenantId, dbUser, { now: t, aliveUntil: t, holdUntil: t + 60_000 });
    live = claim.live;
    if (!claim.session) break;
    claimed.push(claim.session);
  }
  for (const s of claimed) await store.release(s, s.expiresAt);
  return { ids: claimed.map((s) => s.sessionId), live };
}

describe('Data API session reuse through the StateStore', () => {
  it('20 sequential queries of one tenant create exactly 1 session, recorded in the StateStore', async () => {
    const before = fake.statementsRun().length;
    const stats = warehouseOf(viaDataApi).sessionStats;
    for (let i = 0; i < 20; i++) {
      const res = await viaDataApi.query('initech', WHO);
      expect((await json(res)).data).toEqual([{ who: 'tenant_initech' }]);
    }
    const sessions = sessionsUsedSince(before);
    expect(sessions.size).toBe(1);
    const [only] = [...sessions];
    expect(only).toEqual(expect.any(String));
    const after = warehouseOf(viaDataApi).sessionStats;
    expect(after.created - stats.created).toBe(1);
    expect(after.hits - stats.hits).toBe(19);
    expect(fake.openSessions().filter((s) => s.dbUser === 'tenant_initech')).toHaveLength(1);
    expect(await storedSessions(viaDataApi.core.state.sessions, 'initech', 'tenant_initech')).toEqual({
      ids: [only],
      live: 1,
    });
    // Counted on /metrics.
    const metrics = await (await viaDataApi.request('/metrics', { key: viaDataApi.adminKey })).text();
    expect(metrics).toMatch(/spectra_warehouse_sessions_total\{outcome="hits"\} [1-9]\d*/);
    expect(metrics).toMatch(/spectra_warehouse_sessions_total\{outcome="created"\} [1-9]\d*/);
  });

  it('two tenants never share a session, sequentially or concurrently', async () => {
    const before = fake.statementsRun().length;
    const order = Array.from({ length: 12 }, (_, i) => (i % 2 ? 'acme' : 'globex'));
    for (const t of order)
      expect((await json(await viaDataApi.query(t, WHO))).data).toEqual([{ who: dbUserOf(t) }]);
    const concurrent = await Promise.all(order.map((t) => viaDataApi.query(t, WHO).then(json)));
    concurrent.forEach((body, i) => {
      expect(body.data).toEqual([{ who: dbUserOf(order[i]!) }]);
    });
    const userOfSession = new Map<string, Set<string>>();
    for (const s of fake.statementsRun().slice(before)) {
      if (!s.sessionId) continue;
      userOfSession.set(s.sessionId, (userOfSession.get(s.sessionId) ?? new Set()).add(s.dbUser));
    }
    expect(userOfSession.size).toBeGreaterThanOrEqual(2);
    for (const users of userOfSession.values()) expect(users.size).toBe(1);
    // The StateStore hands each tenant only sessions its own user opened.
    const state = viaDataApi.core.state.sessions;
    const acme = await storedSessions(state, 'acme', dbUserOf('acme'));
    const globex = await storedSessions(state, 'globex', dbUserOf('globex'));
    expect(acme.ids.length).toBeGreaterThanOrEqual(1);
    expect(globex.ids.length).toBeGreaterThanOrEqual(1);
    expect(acme.ids.filter((id) => globex.ids.includes(id))).toEqual([]);
    for (const id of acme.ids)
      expect([...(userOfSession.get(id) ?? [dbUserOf('acme')])]).toEqual([dbUserOf('acme')]);
    for (const id of globex.ids)
      expect([...(userOfSession.get(id) ?? [dbUserOf('globex')])]).toEqual([dbUserOf('globex')]);
  });

  it('an expired session is replaced transparently: 200, a new session, the StateStore updated', async () => {
    const user = dbUserOf('initech');
    expect((await viaDataApi.query('initech', WHO)).status).toBe(200);
    const old = fake.statementsRun().at(-1)!.sessionId!;
    expect(await fake.expireSessions(user)).toEqual([old]);
    const stats = warehouseOf(viaDataApi).sessionStats;

    const res = await viaDataApi.query('initech', WHO);
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data).toEqual([{ who: user }]);
    const replacement = fake.statementsRun().at(-1)!.sessionId!;
    expect(replacement).toEqual(expect.any(String));
    expect(replacement).not.toBe(old);
    // The refused statement was resubmitted: ExecuteStatement with the old id, then a new session.
    const refused = fake.requests.filter(
      (r) => r.operation === 'ExecuteStatement' && r.input.SessionId === old,
    );
    expect(refused.length).toBeGreaterThanOrEqual(1);
    const after = warehouseOf(viaDataApi).sessionStats;
    expect([after.replaced - stats.replaced, after.created - stats.created]).toEqual([1, 1]);
    expect(await storedSessions(viaDataApi.core.state.sessions, 'initech', user)).toEqual({
      ids: [replacement],
      live: 1,
    });
    // And the replacement is reused from then on.
    expect((await viaDataApi.query('initech', WHO)).status).toBe(200);
    expect(fake.statementsRun().at(-1)!.sessionId).toBe(replacement);
  });

  it('two warehouse instances on one StateStore (two processes) reuse the same session in turn', async () => {
    const f = pgFacts();
    const stateOf = () =>
      new PostgresStateStore({
        host: f.host,
        port: f.port,
        user: f.stateUser.user,
        password: f.stateUser.password,
        database: f.controlDb,
        poolSize: 2,
      });
    const [stateA, stateB] = [stateOf(), stateOf()];
    const a = dataApiWarehouse(fake, { sessions: stateA.sessions });
    const b = dataApiWarehouse(fake, { sessions: stateB.sessions });
    // A tenant id of its own, so no session of the service above is reused.
    const ctx = {
      tenantId: `shared-${crypto.randomUUID().slice(0, 8)}`,
      dbUser: dbUserOf('acme'),
      timeoutMs: 20_000,
    };
    try {
      const before = fake.statementsRun().length;
      for (let i = 0; i < 10; i++) {
        const sink = new RecordingSink();
        await (i % 2 ? b : a).execute(ctx, { sql: WHO.sql, params: [] }, sink);
        expect(sink.rowsSeen).toEqual([[ctx.dbUser]]);
      }
      const used = sessionsUsedSince(before);
      expect(used.size).toBe(1);
      expect([...used][0]).toEqual(expect.any(String));
      expect(a.sessionStats).toMatchObject({ created: 1, misses: 1, hits: 4 });
      expect(b.sessionStats).toMatchObject({ created: 0, misses: 0, hits: 5 });
    } finally {
      await a.close();
      await b.close();
      await stateA.close();
      await stateB.close();
    }
  });
});

describe('Data API sessions in the DynamoDB StateStore (SPECTRA_STATE=dynamodb)', () => {
  let onDynamo: TestSpectra;
  let raw: DynamoDBClient;
  let table: string;
  beforeAll(async () => {
    const config = dynamoClientConfig(await dynamoEndpoint());
    const tables = stateTableNames(uniqueTablePrefix('rsd-sessions'));
    table = tables.sessions;
    raw = new DynamoDBClient(config);
    await createTables(raw, tables);
    process.env.AWS_ENDPOINT_URL_DYNAMODB = config.endpoint;
    onDynamo = await startSpectra({
      SPECTRA_WAREHOUSE: 'redshift-data',
      SPECTRA_STATE: 'dynamodb',
      SPECTRA_AWS_REGION: config.region,
      SPECTRA_REDSHIFT_CLUSTER_ID: FAKE_CLUSTER,
      SPECTRA_REDSHIFT_DATABASE: pgFacts().warehouseDb,
      ...tableSettings(tables),
    });
  });
  afterAll(async () => {
    await onDynamo?.close();
    raw?.destroy();
  });

  it('20 queries create 1 session, kept as one item (key, TTL); an expired one is replaced', async () => {
    const user = dbUserOf('globex');
    await fake.expireSessions(user); // sessions the PostgreSQL-backed service above opened
    const before = fake.statementsRun().length;
    for (let i = 0; i < 20; i++) expect((await onDynamo.query('globex', WHO)).status).toBe(200);
    const used = sessionsUsedSince(before);
    expect(used.size).toBe(1);
    const [only] = [...used] as string[];
    expect(warehouseOf(onDynamo).sessionStats).toMatchObject({ created: 1, hits: 19 });

    const items = async () =>
      (
        await raw.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'tenant_id = :t',
            ExpressionAttributeValues: { ':t': { S: 'globex' } },
            ConsistentRead: true,
          }),
        )
      ).Items ?? [];
    const [item, ...more] = await items();
    expect(more).toEqual([]);
    expect(item!.session_key!.S).toBe(`${user}@default#${only}`);
    expect(item!.claim_token).toBeUndefined(); // idle between statements
    const ttl = Number(item!.expires_at!.N);
    expect(ttl * 1000).toBeGreaterThan(Date.now() + 3500_000); // keep-alive 3600 s
    expect(ttl).toBe(Math.ceil(Number(item!.expires_ms!.N) / 1000));

    await fake.expireSessions(user);
    const res = await onDynamo.query('globex', WHO);
    expect(res.status).toBe(200);
    expect((await json(res)).data).toEqual([{ who: user }]);
    const replacement = fake.statementsRun().at(-1)!.sessionId!;
    expect(replacement).not.toBe(only);
    expect((await items()).map((i) => i.session_key!.S)).toEqual([`${user}@default#${replacement}`]);
  });
});
