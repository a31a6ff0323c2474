/**
 * The Redshift compatibility schema of the embedded warehouse (src/warehouse/embedded/redshift-compat.ts):
 * how it is installed and upgraded, and that a tenant cannot use it to escape — not by running
 * with someone else's rights, not by replacing or shadowing the functions, not by leaving the path.
 * The functions' answers are pinned by the conformance corpus (test/conformance/).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOOTSTRAP_SCHEMA_VERSION,
  bootstrapEmbedded,
  dropTenantRole,
  provisionTenantRole,
  WAREHOUSE_DB,
} from '../../../src/warehouse/embedded/bootstrap.js';
import {
  type EmbeddedPostgres,
  startEmbeddedPostgres,
} from '../../../src/warehouse/embedded/postgres-process.js';
import {
  REDSHIFT_COMPAT_SCHEMA,
  TENANT_SEARCH_PATH,
} from '../../../src/warehouse/embedded/redshift-compat.js';
import { adminClient, authenticatorPool } from '../../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../../helpers/spectra.js';

const SCHEMA = REDSHIFT_COMPAT_SCHEMA;

let pool: pg.Pool;
let admin: pg.Client;
beforeAll(async () => {
  pool = authenticatorPool({ max: 2 });
  admin = await adminClient();
});
afterAll(async () => {
  await pool.end();
  await admin.end();
});

/** Runs `sql` as `dbUser` over the authenticator's connection, as the PostgreSQL adapter does, and rolls back. */
async function asTenant<T = Record<string, unknown>>(sql: string, dbUser = 'tenant_acme'): Promise<T[]> {
  const client = await pool.connect();
  try {
    await client.query(`BEGIN; SET LOCAL ROLE ${dbUser}`);
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

async function sqlstateOf(sql: string, dbUser = 'tenant_acme'): Promise<string | undefined> {
  try {
    await asTenant(sql, dbUser);
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

describe('the compatibility schema', () => {
  it('comes first on the search_path of tenant statements, before pg_catalog', async () => {
    const rows = await asTenant<{ search_path: string }>('SHOW search_path');
    expect(rows).toEqual([{ search_path: TENANT_SEARCH_PATH }]);
    // Resolution picks the Redshift date_part over PostgreSQL's identical signature.
    const qtr = await asTenant<{ q: number }>(
      "SELECT date_part('qtr', TIMESTAMP '2024-05-17 00:00:00') AS q",
    );
    expect(qtr).toEqual([{ q: 2 }]);
  });

  it('is on every tenant role’s own search_path, also for a tenant provisioned later', async () => {
    await admin.query('BEGIN');
    try {
      await provisionTenantRole(admin, 'compat-late', 'tenant_compat_late');
      const { rows } = await admin.query<{ role: string; config: string[] }>(
        `SELECT r.rolname AS role, s.setconfig AS config
           FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
           JOIN pg_database d ON d.oid = s.setdatabase
          WHERE d.datname = current_database() AND r.rolname IN ('tenant_acme', 'tenant_globex', 'tenant_compat_late')
          ORDER BY 1`,
      );
      const expected = [`search_path=${TENANT_SEARCH_PATH}`];
      expect(rows).toEqual([
        { role: 'tenant_acme', config: expected },
        { role: 'tenant_compat_late', config: expected },
        { role: 'tenant_globex', config: expected },
      ]);
      await dropTenantRole(admin, 'tenant_compat_late');
    } finally {
      await admin.query('ROLLBACK');
    }
  });

  it('holds only SECURITY INVOKER functions bound at creation or with a fixed search_path, owned by spectra_owner, none VOLATILE', async () => {
    const { rows } = await admin.query<{
      fn: string;
      owner: string;
      definer: boolean;
      bound: boolean;
      config: string[] | null;
      volatility: string;
    }>(
      `SELECT p.oid::regprocedure::text AS fn, pg_get_userbyid(p.proowner) AS owner, p.prosecdef AS definer,
              p.prosqlbody IS NOT NULL AS bound, p.proconfig AS config, p.provolatile AS volatility
         FROM pg_proc p WHERE p.pronamespace = $1::regnamespace AND p.prokind = 'f'`,
      [SCHEMA],
    );
    expect(rows.length).toBeGreaterThan(50);
    const wrong = rows.filter(
      (r) =>
        r.owner !== 'spectra_owner' ||
        r.definer ||
        (!r.bound && JSON.stringify(r.config) !== JSON.stringify(['search_path=pg_catalog, pg_temp'])) ||
        r.volatility === 'v',
    );
    expect(wrong).toEqual([]);
    const aggregates = await admin.query<{ owner: string }>(
      `SELECT DISTINCT pg_get_userbyid(p.proowner) AS owner FROM pg_proc p
        WHERE p.pronamespace = $1::regnamespace AND p.prokind = 'a'`,
      [SCHEMA],
    );
    expect(aggregates.rows).toEqual([{ owner: 'spectra_owner' }]);
  });

  it('labels what depends on the session (time zone, DateStyle, clock) STABLE, not IMMUTABLE', async () => {
    const { rows } = await admin.query<{ fn: string; volatility: string }>(
      `SELECT p.oid::regprocedure::text AS fn, p.provolatile AS volatility
         FROM pg_proc p WHERE p.pronamespace = $1::regnamespace AND p.prokind = 'f'
          AND (p.proname IN ('getdate', 'sysdate', 'convert_timezone')
               OR 'timestamptz'::regtype = ANY (p.proargtypes::regtype[])
               OR (p.proname IN ('dateadd', 'datediff', 'date_part', 'date_trunc', 'add_months', 'last_day',
                                 'next_day', 'months_between', 'redshift_extract')
                   AND p.proargtypes[array_upper(p.proargtypes::oid[], 1)]::regtype = 'text'::regtype
                   AND p.proname <> 'next_day')
               OR (p.proname = 'next_day' AND p.proargtypes[0]::regtype IN ('text'::regtype, 'timestamptz'::regtype)))`,
      [SCHEMA],
    );
    expect(rows.length).toBeGreaterThanOrEqual(20);
    expect(rows.filter((r) => r.volatility !== 's')).toEqual([]);
  });

  it('can be executed by tenant roles only, not by PUBLIC or the bare authenticator', async () => {
    const { rows } = await admin.query<{ tenants: boolean; authenticator: boolean; public_: boolean }>(
      `SELECT bool_and(has_function_privilege('spectra_tenants', p.oid, 'EXECUTE')) AS tenants,
              bool_or(has_function_privilege('spectra_authenticator', p.oid, 'EXECUTE')) AS authenticator,
              bool_or(a.grantee = 0) AS public_
         FROM pg_proc p LEFT JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a ON true
        WHERE p.pronamespace = $1::regnamespace`,
      [SCHEMA],
    );
    expect(rows).toEqual([{ tenants: true, authenticator: false, public_: false }]);
  });
});

describe('a tenant cannot use the functions to escape', () => {
  const NVL_BODY = "RETURNS anycompatible LANGUAGE sql AS 'SELECT b'";

  it('cannot replace, alter, drop or re-own them', async () => {
    expect(
      await sqlstateOf(
        `CREATE OR REPLACE FUNCTION ${SCHEMA}.nvl(a anycompatible, b anycompatible) ${NVL_BODY}`,
      ),
    ).toBe('42501');
    expect(await sqlstateOf(`ALTER FUNCTION ${SCHEMA}.dlog10(double precision) SECURITY DEFINER`)).toBe(
      '42501',
    );
    expect(
      await sqlstateOf(`ALTER FUNCTION ${SCHEMA}.dlog10(double precision) SET search_path = public`),
    ).toBe('42501');
    expect(await sqlstateOf(`ALTER FUNCTION ${SCHEMA}.dlog10(double precision) OWNER TO tenant_acme`)).toBe(
      '42501',
    );
    expect(await sqlstateOf(`DROP FUNCTION ${SCHEMA}.dlog10(double precision)`)).toBe('42501');
  });

  it('cannot shadow them: no CREATE in any schema on the path, no temporary functions, no new schema', async () => {
    expect(
      await sqlstateOf(`CREATE FUNCTION ${SCHEMA}.getdate2() RETURNS int LANGUAGE sql AS 'SELECT 1'`),
    ).toBe('42501');
    expect(await sqlstateOf(`CREATE FUNCTION public.nvl(a anycompatible, b anycompatible) ${NVL_BODY}`)).toBe(
      '42501',
    );
    expect(
      await sqlstateOf(`CREATE FUNCTION pg_temp.nvl(a anycompatible, b anycompatible) ${NVL_BODY}`),
    ).toBe('42501');
    expect(await sqlstateOf('CREATE SCHEMA tenant_acme AUTHORIZATION tenant_acme')).toBe('42501');
  });

  it('runs them with the caller’s own rights: RLS still applies, catalog secrets stay closed', async () => {
    expect(
      await asTenant(
        "SELECT count(*)::int AS n FROM sales WHERE NVL(tenant_id, 'x') <> 'acme' OR DECODE(1, 1, false)",
      ),
    ).toEqual([{ n: 0 }]);
    expect(await sqlstateOf('SELECT strtol((SELECT rolpassword FROM pg_authid LIMIT 1), 16)')).toBe('42501');
    expect(
      await sqlstateOf(
        'SELECT json_array_length((SELECT json_agg(tenant_id)::text FROM spectra_rls.tenant_roles))',
      ),
    ).toBe('42501');
    const invoker = await asTenant<{ who: string }>("SELECT nvl(current_user::text, 'x') AS who");
    expect(invoker).toEqual([{ who: 'tenant_acme' }]);
  });
});

describe('through POST /v1/queries', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra();
  });
  afterAll(async () => {
    await spectra?.close();
  });

  it('runs the Redshift functions the guard used to refuse or PostgreSQL did not know (NVL, DECODE, STRTOL, DLOG10)', async () => {
    const res = await spectra.query('acme', {
      sql: "SELECT NVL(NULL, 'x') AS a, DECODE(2, 1, 'one', 2, 'two') AS b, STRTOL('ff', 16) AS c, DLOG10(1000) AS d",
    });
    const body = await json(res);
    expect(res.status).toBe(200);
    expect(body.data).toEqual([{ a: 'x', b: 'two', c: 255, d: 3 }]);
  });

  it('refuses a tenant’s attempt to redefine a function or move the path', async () => {
    for (const sql of [
      `CREATE OR REPLACE FUNCTION ${SCHEMA}.nvl(a anycompatible, b anycompatible) ${"RETURNS anycompatible LANGUAGE sql AS 'SELECT b'"}`,
      'SET search_path = public',
      "SELECT set_config('search_path', 'public', true)",
      `SELECT ${SCHEMA}.invalid_datepart('x')`,
    ]) {
      const res = await spectra.query('acme', { sql });
      expect(res.status, sql).toBe(400);
    }
  });
});

describe('upgrade of a warehouse bootstrapped before the compatibility schema (schema version 3)', () => {
  let home: string;
  let postgres: EmbeddedPostgres;
  let connection: { host: string; port: number; user: string; password: string };

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'spectra-compat-upgrade-'));
    // As root, PostgreSQL runs as the OS user `postgres`, which must be able to reach the home.
    await chmod(home, 0o755);
    postgres = await startEmbeddedPostgres({ home });
    connection = {
      host: postgres.host,
      port: postgres.port,
      user: postgres.superuser,
      password: postgres.superuserPassword,
    };
  });
  afterAll(async () => {
    await postgres?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('installs the functions and the search_path on the next start', async () => {
    const first = await bootstrapEmbedded(connection, { home, demoRows: 1_000 });
    const client = new pg.Client({ ...connection, database: WAREHOUSE_DB });
    await client.connect();
    try {
      // What schema version 3 left behind: no compatibility schema, no search_path settings.
      await client.query(`
        BEGIN;
        DROP SCHEMA ${SCHEMA} CASCADE;
        ALTER ROLE spectra_authenticator IN DATABASE ${WAREHOUSE_DB} RESET search_path;
        ${first.tenants.map((t) => `ALTER ROLE ${t.dbUser} IN DATABASE ${WAREHOUSE_DB} RESET search_path;`).join('\n')}
        UPDATE spectra_meta.bootstrap SET schema_version = 3;
        COMMIT;`);

      const again = await bootstrapEmbedded(connection, { home, demoRows: 1_000 });
      expect(again.created).toBe(false);
      const marker = await client.query('SELECT schema_version FROM spectra_meta.bootstrap');
      expect(marker.rows).toEqual([{ schema_version: BOOTSTRAP_SCHEMA_VERSION }]);
    } finally {
      await client.end();
    }

    // A new authenticator session, as the server opens after the upgrade.
    const tenant = new pg.Client({ ...connection, ...first.authenticator, database: WAREHOUSE_DB });
    await tenant.connect();
    try {
      await tenant.query('BEGIN; SET LOCAL ROLE tenant_acme');
      const { rows } = await tenant.query(
        "SELECT dateadd('month', 1, '2024-01-31')::text AS d, datediff('year', '2023-12-31', '2024-01-01') AS y, current_setting('search_path') AS path",
      );
      expect(rows).toEqual([{ d: '2024-02-29 00:00:00', y: '1', path: TENANT_SEARCH_PATH }]);
      await tenant.query('ROLLBACK');
    } finally {
      await tenant.end();
    }
  });
});
