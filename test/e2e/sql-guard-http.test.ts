/**
 * Issue 3 acceptance through HTTP: a sample of the attack corpus sent to `POST /v1/queries` of a
 * real service is answered 400 with the documented code and a details object naming the
 * construct, and none of it reaches PostgreSQL. Two pieces of evidence, both shown to move for the
 * benign sample (so they can fail):
 * - pg_stat_statements counts no statement run as the tenant's role made for this file (it tracks
 *   SELECTs, not utility statements: `track_utility` is off in the test cluster);
 * - pg_stat_activity shows no activity on any warehouse session of this service, which logs in
 *   with its own login role (a member of the authenticator) — this covers VACUUM, SET, COPY, … too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, pgFacts } from '../helpers/pg-fixture.js';
import { json, pgUrl, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { type AttackEntry, attackCorpus, type BenignEntry, benignCorpus } from '../unit/sql/corpus.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PER_CLASS = 3;
/** Past SPECTRA_SQL_PLANNER_OFFLOAD_CHARS (4096): these variants are planned in a worker thread. */
const PADDING = `/* ${'padding '.repeat(700)}*/ `;
/** Benign entries that use Redshift-only functions or placeholders do not run on PostgreSQL. */
const NOT_ON_POSTGRES = new Set(['TPC-H', 'Redshift functions', 'placeholders']);
const REDSHIFT_ONLY = /\b(median|ratio_to_report|getdate|nvl|decode|listagg|len|add_months|sysdate)\b/i;

/** Up to `n` entries of each class, spread over the class. */
function sampleByClass<T extends { class: string }>(entries: T[], n: number): T[] {
  const byClass = new Map<string, T[]>();
  for (const e of entries) byClass.set(e.class, [...(byClass.get(e.class) ?? []), e]);
  return [...byClass.values()].flatMap((group) =>
    Array.from(new Set(Array.from({ length: n }, (_, i) => Math.floor((i * group.length) / n)))).map(
      (i) => group[i]!,
    ),
  );
}

const attacks: AttackEntry[] = [
  ...sampleByClass(attackCorpus, PER_CLASS),
  ...sampleByClass(
    attackCorpus.filter((e) => e.expect === 'SQL_BLOCKED' && e.sql.length < 1_000),
    1,
  )
    .slice(0, 8)
    .map((e) => ({ ...e, id: `${e.id} (padded)`, sql: PADDING + e.sql })),
];
const benign: BenignEntry[] = sampleByClass(
  benignCorpus.filter((e) => !NOT_ON_POSTGRES.has(e.class) && !REDSHIFT_ONLY.test(e.sql)),
  2,
);
/** A 6 KB dashboard statement, planned in a worker thread. */
const LARGE_BENIGN = Array.from(
  { length: 70 },
  (_, i) => `SELECT ${i} AS block, region, count(*) AS n FROM sales GROUP BY region`,
).join(' UNION ALL ');

let spectra: TestSpectra;
const suffix = Date.now().toString(36);
const tenantId = `guard${suffix}`;
/** The login role of this file's service: its warehouse sessions are told apart by it. */
const login = { user: `guard_http_${suffix}`, password: randomBytes(18).toString('base64url') };
let apiKey = '';
let dbUser = '';

interface Evidence {
  /** pg_stat_statements: calls of statements run as the tenant's role. */
  callsAsTenant: number;
  /** pg_stat_activity: `pid@state_change` of each warehouse session of this service. */
  sessions: string[];
}

async function evidence(): Promise<Evidence> {
  const client = await adminClient('postgres');
  try {
    const calls = await client.query<{ n: number }>(
      `SELECT coalesce(sum(s.calls), 0)::int AS n
         FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = $1`,
      [dbUser],
    );
    const sessions = await client.query<{ s: string }>(
      `SELECT pid || '@' || coalesce(state_change::text, '') AS s FROM pg_stat_activity WHERE usename = $1`,
      [login.user],
    );
    return { callsAsTenant: calls.rows[0]!.n, sessions: sessions.rows.map((r) => r.s).sort() };
  } finally {
    await client.end();
  }
}

const send = (sql: string, url = spectra.url) =>
  fetch(`${url}/v1/queries`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql, limit: 10 }),
  });

async function asSuperuser(sql: (c: pg.Client) => string): Promise<void> {
  const client = await adminClient();
  try {
    await client.query(sql(client));
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  const f = pgFacts();
  await asSuperuser(
    (c) =>
      `CREATE ROLE ${c.escapeIdentifier(login.user)} LOGIN PASSWORD ${c.escapeLiteral(login.password)}
         IN ROLE ${c.escapeIdentifier(f.authenticator.user)}`,
  );
  spectra = await startSpectra({ SPECTRA_WAREHOUSE_URL: pgUrl(login.user, login.password, f.warehouseDb) });
  const res = await spectra.request('/v1/admin/tenants', {
    key: spectra.adminKey,
    body: { tenant_id: tenantId },
  });
  expect(res.status).toBe(201);
  const created = await json(res);
  apiKey = created.api_key;
  dbUser = created.db_user;
});
afterAll(async () => {
  await spectra?.request(`/v1/admin/tenants/${tenantId}`, { key: spectra.adminKey, method: 'DELETE' });
  await spectra?.close();
  await asSuperuser((c) => `DROP ROLE IF EXISTS ${c.escapeIdentifier(login.user)}`);
});

describe('the SQL guard through HTTP', () => {
  it('answers a sample of the attack corpus (every class) with 400, the documented code and the construct, and nothing reaches PostgreSQL', async () => {
    expect(attacks.length).toBeGreaterThanOrEqual(50);
    expect(new Set(attacks.map((e) => e.class))).toEqual(new Set(attackCorpus.map((e) => e.class)));
    const before = await evidence();

    for (const entry of attacks) {
      const res = await send(entry.sql);
      const text = await res.text();
      expect(res.status, `${entry.id}: ${text}`).toBe(400);
      const body = JSON.parse(text);
      expect(Object.keys(body), entry.id).toEqual(['error']);
      expect(body.error, entry.id).toMatchObject({
        code: entry.expect,
        message: expect.any(String),
        request_id: res.headers.get('x-request-id'),
      });
      expect(typeof body.error.details.construct, entry.id).toBe('string');
      expect(body.error.details.construct.length, entry.id).toBeGreaterThan(0);
      const said = `${body.error.message} ${JSON.stringify(body.error.details)}`.toLowerCase();
      for (const name of entry.names ?? []) expect(said, entry.id).toContain(name.toLowerCase());
    }

    const after = await evidence();
    expect(after.callsAsTenant).toBe(before.callsAsTenant);
    for (const session of after.sessions) expect(before.sessions).toContain(session);
  });

  it('answers a benign sample with 200, and both pieces of evidence see those statements', async () => {
    expect(benign.length).toBeGreaterThanOrEqual(20);
    const before = await evidence();
    for (const entry of [...benign, { id: 'large UNION ALL', sql: LARGE_BENIGN }]) {
      const res = await send(entry.sql);
      expect(res.status, `${entry.id}: ${await res.clone().text()}`).toBe(200);
      await res.arrayBuffer();
    }
    const after = await evidence();
    expect(after.callsAsTenant - before.callsAsTenant).toBeGreaterThanOrEqual(benign.length + 1);
    expect(after.sessions.filter((s) => !before.sessions.includes(s)).length).toBeGreaterThan(0);
  });
});

describe('quoted identifiers through HTTP (issue 16, defect 4)', () => {
  it("answers the issue's WITH queries with quoted names with 200 and the warehouse's rows", async () => {
    const cases: Array<[string, Record<string, number>]> = [
      ['WITH "select" AS (SELECT 1 AS "from") SELECT "from" FROM "select"', { from: 1 }],
      ['WITH "Mixed" AS (SELECT 1 AS x) SELECT x FROM "Mixed"', { x: 1 }],
      ['WITH "order" AS (SELECT 1 AS x) SELECT x FROM "order"', { x: 1 }],
      ['WITH "user" AS (SELECT 1 AS "User") SELECT "User" FROM "user"', { User: 1 }],
    ];
    for (const [sql, row] of cases) {
      const res = await send(sql);
      const body = await json(res);
      expect(res.status, `${sql}: ${JSON.stringify(body)}`).toBe(200);
      expect(body.data, sql).toEqual([row]);
      expect(body.metadata.columns, sql).toEqual(Object.keys(row));
    }
  });

  it('runs a statement naming one random identifier in every role, and the column comes back under that name', async () => {
    const identifier = fc
      .oneof(
        fc.mixedCase(fc.constantFrom('select', 'from', 'order', 'user', 'int', 'left', 'window', 'name')),
        fc.stringMatching(/^[A-Za-z][A-Za-z0-9_ ]{0,14}$/),
        fc
          .array(fc.constantFrom('a', 'B', ' ', '"', "'", '--', '/*', ':x', '$1', '\\', 'é', '名', '😀'), {
            minLength: 1,
            maxLength: 6,
          })
          .map((parts) => parts.join('')),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
      )
      .filter((id) => !id.includes('\0') && Buffer.byteLength(id) <= 63 && id !== 'a1' && id !== 'a2');
    await fc.assert(
      fc.asyncProperty(identifier, async (id) => {
        const q = `"${id.replaceAll('"', '""')}"`;
        // WITH name and column list, table alias, JOIN … USING alias, window name, column alias
        const sql = `WITH ${q}(${q}) AS (SELECT 1)
          SELECT sum(${q}.${q}) OVER ${q} AS ${q}
          FROM ${q} AS a1 JOIN ${q} AS a2 USING (${q}) AS ${q}
          WINDOW ${q} AS (ORDER BY ${q}.${q})`;
        const res = await send(sql);
        const body = await json(res);
        expect(res.status, `${sql}: ${JSON.stringify(body)}`).toBe(200);
        expect(body.metadata.columns).toEqual([id]);
        expect(body.data.map((row: Record<string, unknown>) => Number(row[id]))).toEqual([1]);
      }),
      { numRuns: 60 },
    );
  });
});

describe('the real CLI process (tsx registered by bin/spectra.js) plans statements in worker threads', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('answers an attack with 400 and a query with 200 when every statement is planned in a thread', async () => {
    const f = pgFacts();
    child = spawn(
      process.execPath,
      [
        'bin/spectra.js',
        'serve',
        '--port',
        '0',
        '--home',
        spectra.core.config.home, // same pepper, so the tenant's key works here too
        '--log-level',
        'warn',
        '--warehouse-url',
        pgUrl(f.authenticator.user, f.authenticator.password, f.warehouseDb),
        '--state-url',
        pgUrl(f.stateUser.user, f.stateUser.password, f.controlDb),
      ],
      { cwd: ROOT, env: { ...process.env, SPECTRA_SQL_PLANNER_OFFLOAD_CHARS: '0' }, stdio: 'pipe' },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.stderr!.on('data', (d) => {
        out += d;
      });
      child!.once('exit', (code) => reject(new Error(`spectra serve exited with ${code}:\n${out}`)));
    });

    const blocked = await send(`${PADDING}SELECT 1; SET ROLE postgres`, url);
    expect(blocked.status).toBe(400);
    expect((await json(blocked)).error).toMatchObject({
      code: 'SQL_BLOCKED',
      details: { construct: 'multiple statements' },
    });
    const ok = await send('SELECT count(*) AS n FROM sales', url);
    expect(ok.status).toBe(200);
    expect((await json(ok)).data).toEqual([{ n: 0 }]);
  });
});
