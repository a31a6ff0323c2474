/** Bootstrap of the shared embedded PostgreSQL: demo data, roles, idempotence, tenant role management. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapEmbedded,
  DEMO_TENANTS,
  dropTenantRole,
  provisionTenantRole,
  tenantRoleName,
  verifyTenantIsolation,
} from '../../../src/warehouse/embedded/bootstrap.js';
import { planDemoData } from '../../../src/warehouse/embedded/demo-data.js';
import { adminClient, authenticatorPool, pgFacts } from '../../helpers/pg-fixture.js';

let admin: pg.Client;
beforeAll(async () => {
  admin = await adminClient();
});
afterAll(async () => {
  await admin.end();
});

const adminConnection = () => {
  const f = pgFacts();
  return { host: f.host, port: f.port, user: f.superuser, password: f.superuserPassword };
};

describe('demo data', () => {
  it('splits the sales rows 50/30/20 across acme, globex, initech', async () => {
    const { rows } = await admin.query(
      'SELECT tenant_id, count(*)::int AS n FROM sales GROUP BY tenant_id ORDER BY tenant_id',
    );
    expect(rows).toEqual([
      { tenant_id: 'acme', n: 30_000 },
      { tenant_id: 'globex', n: 18_000 },
      { tenant_id: 'initech', n: 12_000 },
    ]);
  });

  it('has the planned number of products and customers per tenant', async () => {
    const plans = planDemoData(DEMO_TENANTS, pgFacts().demoRows);
    const { rows } = await admin.query(
      `SELECT p.tenant_id, p.n AS products, c.n AS customers
         FROM (SELECT tenant_id, count(*)::int AS n FROM products GROUP BY 1) p
         JOIN (SELECT tenant_id, count(*)::int AS n FROM customers GROUP BY 1) c USING (tenant_id)
        ORDER BY 1`,
    );
    expect(rows).toEqual(
      plans.map((p) => ({ tenant_id: p.tenantId, products: p.products, customers: p.customers })),
    );
  });

  it('keeps the documented columns and primary keys', async () => {
    const { rows } = await admin.query(
      `SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) AS columns
         FROM information_schema.columns WHERE table_schema = 'public' GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      {
        table_name: 'customers',
        columns:
          'customer_id integer, tenant_id text, name text, email text, region text, created_at timestamp with time zone',
      },
      {
        table_name: 'products',
        columns: 'product_id integer, tenant_id text, name text, category text, price numeric',
      },
      {
        table_name: 'sales',
        columns:
          'sale_id bigint, tenant_id text, customer_id integer, product_id integer, region text, quantity integer, ' +
          'amount numeric, sold_at timestamp without time zone',
      },
    ]);
    const keys = await admin.query(
      `SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE contype = 'p' AND connamespace = 'public'::regnamespace ORDER BY 1`,
    );
    expect(keys.rows).toEqual([
      { t: 'customers', def: 'PRIMARY KEY (tenant_id, customer_id)' },
      { t: 'products', def: 'PRIMARY KEY (tenant_id, product_id)' },
      { t: 'sales', def: 'PRIMARY KEY (tenant_id, sale_id)' },
    ]);
  });

  it('is consistent: amount = quantity × price, the sale’s region is its customer’s, dates in 2023–2025', async () => {
    const { rows } = await admin.query(
      `SELECT count(*) FILTER (WHERE s.amount <> s.quantity * p.price)::int AS wrong_amount,
              count(*) FILTER (WHERE s.region <> c.region)::int AS wrong_region,
              count(*) FILTER (WHERE p.product_id IS NULL OR c.customer_id IS NULL)::int AS dangling,
              min(s.sold_at) >= '2023-01-01' AND max(s.sold_at) < '2026-01-01' AS in_range,
              array_agg(DISTINCT s.region ORDER BY s.region) AS regions
         FROM sales s
         LEFT JOIN products p USING (tenant_id, product_id)
         LEFT JOIN customers c USING (tenant_id, customer_id)`,
    );
    expect(rows[0]).toEqual({
      wrong_amount: 0,
      wrong_region: 0,
      dangling: 0,
      in_range: true,
      regions: ['AMER', 'APAC', 'EMEA'],
    });
  });

  it('forces row-level security on every tenant table', async () => {
    const { rows } = await admin.query(
      `SELECT relname, relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner) AS owner
         FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1`,
    );
    expect(rows).toEqual(
      ['customers', 'products', 'sales'].map((relname) => ({
        relname,
        relrowsecurity: true,
        relforcerowsecurity: true,
        owner: 'spectra_owner',
      })),
    );
  });
});

describe('bootstrapEmbedded', () => {
  it('is a no-op the second time', async () => {
    const facts = pgFacts();
    const before = await admin.query('SELECT count(*)::int AS n, sum(amount)::text AS total FROM sales');
    const again = await bootstrapEmbedded(adminConnection(), { home: facts.home, demoRows: 1_000_000 });
    const after = await admin.query('SELECT count(*)::int AS n, sum(amount)::text AS total FROM sales');

    expect(again.created).toBe(false);
    expect(again.authenticator).toEqual(facts.authenticator);
    expect(again.tenants).toEqual(facts.tenants);
    expect(after.rows).toEqual(before.rows);
  });

  it('keeps generated role passwords in <home>/pg/roles.json with mode 0600', async () => {
    const { mode } = await stat(path.join(pgFacts().home, 'pg', 'roles.json'));
    expect(mode & 0o777).toBe(0o600);
    const { mode: superuserMode } = await stat(path.join(pgFacts().home, 'pg', 'superuser.json'));
    expect(superuserMode & 0o777).toBe(0o600);
  });

  it('gives the control-state database to the spectra_state login role', async () => {
    const facts = pgFacts();
    const { rows } = await admin.query(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [facts.controlDb],
    );
    expect(rows).toEqual([{ owner: facts.stateUser.user }]);
    const state = new pg.Client({
      host: facts.host,
      port: facts.port,
      user: facts.stateUser.user,
      password: facts.stateUser.password,
      database: facts.controlDb,
    });
    await state.connect();
    await state.query('CREATE TABLE IF NOT EXISTS bootstrap_probe (x int); DROP TABLE bootstrap_probe');
    await state.end();
  });
});

describe('tenantRoleName', () => {
  it('derives tenant_<id> with hyphens as underscores', () => {
    expect(tenantRoleName('acme')).toBe('tenant_acme');
    expect(tenantRoleName('big-co-2')).toBe('tenant_big_co_2');
  });

  it.each(['', 'Acme', '1acme', 'a_b', 'acme;', 'a"b', 'x'.repeat(57), 'x'.repeat(64)])(
    'rejects %j',
    (id) => {
      expect(() => tenantRoleName(id)).toThrow();
    },
  );
});

describe('tenant roles at run time', () => {
  const suffix = `${process.pid}`;
  const tenantId = `umbrella-${suffix}`;
  const dbUser = tenantRoleName(tenantId);

  afterAll(async () => {
    await dropTenantRole(admin, dbUser).catch(() => undefined);
    await dropTenantRole(admin, `tenant_probe_${suffix}`).catch(() => undefined);
  });

  it('provisions a new tenant idempotently, isolated from the demo tenants, and drops it', async () => {
    await provisionTenantRole(admin, tenantId, dbUser);
    await provisionTenantRole(admin, tenantId, dbUser);
    await verifyTenantIsolation(admin, dbUser, tenantId);

    const pool = authenticatorPool({ max: 1 });
    const client = await pool.connect();
    try {
      await client.query(`BEGIN; SET LOCAL ROLE ${dbUser}`);
      await client.query(`INSERT INTO customers (customer_id, name, region) VALUES (1, 'First', 'APAC')`);
      const { rows } = await client.query('SELECT tenant_id, count(*)::int AS n FROM customers GROUP BY 1');
      expect(rows).toEqual([{ tenant_id: tenantId, n: 1 }]);
      expect((await client.query('SELECT count(*)::int AS n FROM sales')).rows).toEqual([{ n: 0 }]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
      await pool.end();
    }

    await dropTenantRole(admin, dbUser);
    const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [dbUser]);
    expect(rowCount).toBe(0);
  });

  it('verifyTenantIsolation fails when a role sees another tenant’s rows', async () => {
    const probe = `tenant_probe_${suffix}`;
    await provisionTenantRole(admin, 'acme', probe);
    await expect(verifyTenantIsolation(admin, probe, 'globex')).rejects.toThrow(
      /rows of other tenants visible/,
    );
    await verifyTenantIsolation(admin, probe, 'acme');
    await dropTenantRole(admin, probe);
  });

  it('refuses to re-map a role to another tenant, to adopt a privileged role, or to drop a non-tenant role', async () => {
    await expect(provisionTenantRole(admin, 'globex', 'tenant_acme')).rejects.toThrow(
      /already belongs to tenant acme/,
    );
    await expect(provisionTenantRole(admin, 'acme', 'postgres')).rejects.toThrow(/privileges/);
    await expect(provisionTenantRole(admin, 'acme', 'spectra_owner')).rejects.toThrow(
      /invalid tenant role name/,
    );
    await expect(dropTenantRole(admin, 'postgres')).rejects.toThrow(/not a tenant role/);
  });
});
