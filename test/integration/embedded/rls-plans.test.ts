/**
 * The tenant policy is an index condition: as each tenant, `ORDER BY sale_id LIMIT n` and a key
 * lookup are index scans on `(tenant_id, sale_id)` with `tenant_id` in the Index Cond, as with a
 * literal `tenant_id = '…'`. An upgrade from the old policy shape gets the same plans.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOOTSTRAP_SCHEMA_VERSION,
  bootstrapEmbedded,
  provisionTenantRole,
  tenantRoleName,
  verifyTenantIsolation,
  WAREHOUSE_DB,
} from '../../../src/warehouse/embedded/bootstrap.js';
import {
  type EmbeddedPostgres,
  startEmbeddedPostgres,
} from '../../../src/warehouse/embedded/postgres-process.js';
import { adminClient, authenticatorPool, pgFacts } from '../../helpers/pg-fixture.js';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  Plans?: PlanNode[];
}

const STATEMENTS = {
  'ORDER BY sale_id LIMIT 100': 'SELECT * FROM sales ORDER BY sale_id LIMIT 100',
  'WHERE sale_id = 42': 'SELECT * FROM sales WHERE sale_id = 42',
};

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** The scans of `sales` in the plan of `sql`, run on `client` (already in the role to test). */
async function salesScans(client: pg.ClientBase, sql: string) {
  const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
    `EXPLAIN (FORMAT JSON) ${sql}`,
  );
  const plan = rows[0]!['QUERY PLAN'][0]!.Plan;
  return nodes(plan)
    .filter((n) => n['Node Type'].endsWith('Scan'))
    .map((n) => ({
      type: n['Node Type'],
      index: n['Index Name'],
      tenantInIndexCond: /\btenant_id = /.test(n['Index Cond'] ?? ''),
    }));
}

const INDEX_PLAN = [{ type: 'Index Scan', index: 'sales_pkey', tenantInIndexCond: true }];

describe('tenant policy and the (tenant_id, …) index', () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = authenticatorPool({ max: 1 });
  });
  afterAll(async () => {
    await pool.end();
  });

  for (const tenantId of ['acme', 'globex', 'initech']) {
    for (const [label, sql] of Object.entries(STATEMENTS)) {
      it(`${tenantId}: ${label} is an index scan on sales_pkey with tenant_id in the Index Cond`, async () => {
        const { dbUser } = pgFacts().tenants.find((t) => t.tenantId === tenantId)!;
        const client = await pool.connect();
        try {
          await client.query(`BEGIN; SET LOCAL ROLE ${dbUser}`);
          expect(await salesScans(client, sql)).toEqual(INDEX_PLAN);
        } finally {
          await client.query('ROLLBACK');
          client.release();
        }
      });
    }
  }

  it('a tenant provisioned at run time gets the same plans', async () => {
    const tenantId = `planner-${process.pid}`;
    const dbUser = tenantRoleName(tenantId);
    const admin = await adminClient();
    try {
      await admin.query('BEGIN');
      await provisionTenantRole(admin, tenantId, dbUser);
      await admin.query(`SET LOCAL ROLE ${dbUser}`);
      for (const sql of Object.values(STATEMENTS)) expect(await salesScans(admin, sql)).toEqual(INDEX_PLAN);
    } finally {
      await admin.query('ROLLBACK');
      await admin.end();
    }
  });
});

describe('upgrade of a home bootstrapped with the old policy', () => {
  const LEGACY = '(SELECT spectra_rls.tenant_of(current_user))';
  let home: string;
  let postgres: EmbeddedPostgres;
  let admin: { host: string; port: number; user: string; password: string };

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'spectra-rls-upgrade-'));
    // As root, PostgreSQL runs as the OS user `postgres`, which must be able to reach the home.
    await chmod(home, 0o755);
    postgres = await startEmbeddedPostgres({ home });
    admin = {
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

  async function warehouse<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ ...admin, database: WAREHOUSE_DB });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  it('rewrites the old policies on the next start, keeps other policies, and plans use the index', async () => {
    await bootstrapEmbedded(admin, { home, demoRows: 3_000 });
    // What schema version 2 left behind: the old policies, plus an operator table made the same way
    // and one with a policy of its own that the upgrade must not touch.
    await warehouse((c) =>
      c.query(`
        BEGIN;
        ALTER POLICY tenant_isolation ON public.sales USING (tenant_id = ${LEGACY}) WITH CHECK (tenant_id = ${LEGACY});
        ALTER POLICY tenant_isolation ON public.customers USING (tenant_id = ${LEGACY}) WITH CHECK (tenant_id = ${LEGACY});
        ALTER POLICY tenant_isolation ON public.products USING (tenant_id = ${LEGACY}) WITH CHECK (tenant_id = ${LEGACY});
        CREATE TABLE public.orders (tenant_id text NOT NULL, order_id int, PRIMARY KEY (tenant_id, order_id));
        ALTER TABLE public.orders OWNER TO spectra_owner;
        ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;
        ALTER TABLE public.orders FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON public.orders FOR ALL TO spectra_tenants USING (tenant_id = ${LEGACY});
        CREATE POLICY own_rule ON public.orders FOR SELECT TO spectra_tenants
          USING (tenant_id = ${LEGACY} AND order_id > 0);
        GRANT SELECT ON public.orders TO spectra_tenants;
        UPDATE spectra_meta.bootstrap SET schema_version = 2;
        COMMIT;`),
    );
    const before = await warehouse(async (c) => {
      await c.query('BEGIN; SET LOCAL ROLE tenant_globex');
      const scans = await salesScans(c, STATEMENTS['ORDER BY sale_id LIMIT 100']);
      await c.query('ROLLBACK');
      return scans;
    });
    expect(before).not.toEqual(INDEX_PLAN);

    const again = await bootstrapEmbedded(admin, { home, demoRows: 3_000 });
    expect(again.created).toBe(false);

    await warehouse(async (c) => {
      const marker = await c.query('SELECT schema_version FROM spectra_meta.bootstrap');
      expect(marker.rows).toEqual([{ schema_version: BOOTSTRAP_SCHEMA_VERSION }]);
      const { rows } = await c.query<{
        tbl: string;
        policy: string;
        current: boolean;
        check: boolean | null;
      }>(
        `SELECT tablename AS tbl, policyname AS policy, qual LIKE '%COLLATE "default"%' AS current,
                with_check LIKE '%COLLATE "default"%' AS check
           FROM pg_policies WHERE schemaname = 'public' ORDER BY 1, 2`,
      );
      expect(rows).toEqual([
        { tbl: 'customers', policy: 'tenant_isolation', current: true, check: true },
        { tbl: 'orders', policy: 'own_rule', current: false, check: null },
        { tbl: 'orders', policy: 'tenant_isolation', current: true, check: null },
        { tbl: 'products', policy: 'tenant_isolation', current: true, check: true },
        { tbl: 'sales', policy: 'tenant_isolation', current: true, check: true },
      ]);
      for (const { tenantId, dbUser } of again.tenants) {
        await verifyTenantIsolation(c, dbUser, tenantId);
        await c.query(`BEGIN; SET LOCAL ROLE ${dbUser}`);
        for (const sql of Object.values(STATEMENTS)) expect(await salesScans(c, sql)).toEqual(INDEX_PLAN);
        await c.query('ROLLBACK');
      }
    });
  });
});
