/**
 * Tenant isolation enforced by PostgreSQL itself: raw SQL over the authenticator's connection,
 * `SET LOCAL ROLE <tenant role>`, no middleware in between.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticatorPool, pgFacts } from '../../helpers/pg-fixture.js';

const TABLES = ['products', 'customers', 'sales'] as const;

let pool: pg.Pool;
beforeAll(() => {
  pool = authenticatorPool({ max: 4 });
});
afterAll(async () => {
  await pool.end();
});

/** Runs `fn` in a transaction as `dbUser` (or as the bare authenticator) and always rolls back. */
async function asRole<T>(dbUser: string | undefined, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(dbUser ? `BEGIN; SET LOCAL ROLE ${dbUser}` : 'BEGIN');
    return await fn(client);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/** The SQLSTATE a statement fails with, or 'ok'. */
async function outcome(client: pg.PoolClient, sql: string, params: unknown[] = []): Promise<string> {
  await client.query('SAVEPOINT probe');
  try {
    await client.query(sql, params);
    await client.query('RELEASE SAVEPOINT probe');
    return 'ok';
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT probe');
    return (error as { code?: string }).code ?? String(error);
  }
}

const tenants = () => pgFacts().tenants;
const other = (tenantId: string) => tenants().find((t) => t.tenantId !== tenantId)!.tenantId;

describe('as a tenant role', () => {
  it.each(['acme', 'globex', 'initech'])(
    '%s sees only its own rows in every tenant table',
    async (tenantId) => {
      const { dbUser } = tenants().find((t) => t.tenantId === tenantId)!;
      const seen = await asRole(dbUser, async (client) => {
        const result: Record<string, string[]> = {};
        for (const table of TABLES) {
          const { rows } = await client.query<{ tenant_id: string }>(
            `SELECT DISTINCT tenant_id FROM ${table}`,
          );
          result[table] = rows.map((r) => r.tenant_id);
        }
        return result;
      });
      expect(seen).toEqual({ products: [tenantId], customers: [tenantId], sales: [tenantId] });
    },
  );

  it('cannot insert a customer row for another tenant (WITH CHECK)', async () => {
    const code = await asRole('tenant_acme', (c) =>
      outcome(c, `INSERT INTO customers (customer_id, tenant_id, name) VALUES (999001, $1, 'x')`, [
        other('acme'),
      ]),
    );
    expect(code).toBe('42501'); // new row violates row-level security policy
  });

  it('can insert a customer row for itself, and a missing tenant_id defaults to its own tenant', async () => {
    const rows = await asRole('tenant_acme', async (c) => {
      await c.query(
        `INSERT INTO customers (customer_id, tenant_id, name) VALUES (999002, 'acme', 'Explicit')`,
      );
      await c.query(`INSERT INTO customers (customer_id, name, region) VALUES (999003, 'Defaulted', 'EMEA')`);
      return (
        await c.query('SELECT customer_id, tenant_id FROM customers WHERE customer_id > 999000 ORDER BY 1')
      ).rows;
    });
    expect(rows).toEqual([
      { customer_id: 999002, tenant_id: 'acme' },
      { customer_id: 999003, tenant_id: 'acme' },
    ]);
  });

  it('cannot move its customer to another tenant, nor touch the other tenant’s customers', async () => {
    const result = await asRole('tenant_acme', async (c) => ({
      move: await outcome(c, 'UPDATE customers SET tenant_id = $1 WHERE customer_id = 1', [other('acme')]),
      update: (await c.query(`UPDATE customers SET name = 'x' WHERE tenant_id = $1`, [other('acme')]))
        .rowCount,
      delete: (await c.query('DELETE FROM customers WHERE tenant_id = $1', [other('acme')])).rowCount,
    }));
    expect(result).toEqual({ move: '42501', update: 0, delete: 0 });
  });

  it('cannot write to sales or products (no INSERT/UPDATE/DELETE grant)', async () => {
    const codes = await asRole('tenant_acme', async (c) => [
      await outcome(c, `INSERT INTO sales VALUES (999001, 'acme', 1, 1, 'EMEA', 1, 1.00, '2024-01-01')`),
      await outcome(c, 'UPDATE sales SET quantity = 2 WHERE sale_id = 1'),
      await outcome(c, 'DELETE FROM products WHERE product_id = 1'),
      await outcome(c, 'TRUNCATE customers'),
    ]);
    expect(codes).toEqual(['42501', '42501', '42501', '42501']);
  });

  it('cannot create objects: tables, temp tables, schemas, functions', async () => {
    const codes = await asRole('tenant_acme', async (c) => [
      await outcome(c, 'CREATE TABLE public.mine (x int)'),
      await outcome(c, 'CREATE TABLE mine (x int)'),
      await outcome(c, 'CREATE TEMP TABLE mine (x int)'),
      await outcome(c, 'CREATE SCHEMA mine'),
      await outcome(c, 'CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$'),
    ]);
    expect(codes).toEqual(['42501', '42501', '42501', '42501', '42501']);
  });

  it('cannot read the tenant→role mapping', async () => {
    const codes = await asRole('tenant_acme', async (c) => [
      await outcome(c, 'SELECT * FROM spectra_rls.tenant_roles'),
      await outcome(c, 'SELECT * FROM spectra_meta.bootstrap'),
    ]);
    expect(codes).toEqual(['42501', '42501']);
  });

  it('cannot switch to the tenants group, the owner or the superuser', async () => {
    const codes = await asRole('tenant_acme', async (c) => [
      await outcome(c, 'SET ROLE spectra_tenants'),
      await outcome(c, 'SET ROLE spectra_owner'),
      await outcome(c, 'SET ROLE postgres'),
      await outcome(c, 'SET SESSION AUTHORIZATION postgres'),
    ]);
    expect(codes).toEqual(['42501', '42501', '42501', '42501']);
  });

  it('can switch to another tenant role at the SQL level — which is why the SQL guard must reject SET/RESET', async () => {
    // Documents a property of the design (as in PostgREST): the authenticator holds SET on every tenant role.
    const seen = await asRole('tenant_acme', async (c) => {
      await c.query('SET LOCAL ROLE tenant_globex');
      return (await c.query('SELECT DISTINCT tenant_id FROM sales')).rows;
    });
    expect(seen).toEqual([{ tenant_id: 'globex' }]);
  });

  it('evaluates the current tenant once per statement (an InitPlan), not per row', async () => {
    const plan = await asRole('tenant_acme', async (c) => {
      const { rows } = await c.query(
        'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM sales',
      );
      return rows.map((r) => r['QUERY PLAN'] as string).join('\n');
    });
    expect(plan).toMatch(/InitPlan/);
    expect(plan).toMatch(/(Filter|Index Cond): \(tenant_id = \(InitPlan \d+\)\.col1\)/);
    expect(plan).not.toMatch(/SubPlan/);
  });
});

describe('as the authenticator alone (no SET ROLE)', () => {
  it('is denied every tenant table: no USAGE on schema public, no grants', async () => {
    const codes = await asRole(undefined, async (c) => {
      const result: string[] = [];
      for (const table of TABLES) result.push(await outcome(c, `SELECT count(*) FROM public.${table}`));
      return result;
    });
    expect(codes).toEqual(['42501', '42501', '42501']);
  });

  it('has no rights of its own and owns nothing', async () => {
    const { rows } = await pool.query(
      `SELECT r.rolinherit, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls, r.rolcanlogin,
              (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid) AS owned
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    expect(rows[0]).toEqual({
      rolinherit: false,
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolbypassrls: false,
      rolcanlogin: true,
      owned: 0,
    });
  });

  it('cannot connect to the control-state database or the postgres database', async () => {
    for (const database of [pgFacts().controlDb, 'postgres']) {
      const other = authenticatorPool({ database, max: 1 });
      await expect(other.query('SELECT 1')).rejects.toMatchObject({ code: '42501' });
      await other.end();
    }
  });
});
