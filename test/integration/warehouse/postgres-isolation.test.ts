/**
 * Isolation without the service: the same SQL the API tests send, over a raw connection as the
 * authenticator with `SET LOCAL ROLE <tenant role>` (no middleware, no SQL guard), and as the
 * authenticator alone, which must not see a single row.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticatorPool, pgFacts } from '../../helpers/pg-fixture.js';

const TABLES = ['sales', 'customers', 'products'] as const;

let pool: pg.Pool;
beforeAll(() => {
  pool = authenticatorPool({ max: 2 });
});
afterAll(async () => {
  await pool.end();
});

async function inTransaction<T>(setup: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(setup);
    return await fn(client);
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

describe('raw connection as each tenant role', () => {
  for (const tenant of ['acme', 'globex', 'initech']) {
    it.each(TABLES)(`${tenant}: SELECT DISTINCT tenant_id FROM %s returns only ${tenant}`, async (table) => {
      const { dbUser } = pgFacts().tenants.find((t) => t.tenantId === tenant)!;
      const rows = await inTransaction(`BEGIN; SET LOCAL ROLE ${dbUser}`, async (c) => {
        expect((await c.query('SELECT current_user AS u')).rows).toEqual([{ u: dbUser }]);
        return (await c.query(`SELECT DISTINCT tenant_id FROM ${table}`)).rows;
      });
      expect(rows).toEqual([{ tenant_id: tenant }]);
    });
  }
});

describe('the authenticator alone', () => {
  /** The SQLSTATE and message a statement fails with, or its row count. */
  const attempt = (sql: string) =>
    inTransaction('BEGIN', (c) =>
      c.query(sql).then(
        (r) => ({ rows: r.rowCount }),
        (e: { code?: string; message: string }) => ({ code: e.code, message: e.message }),
      ),
    );

  it.each(TABLES)(
    'SELECT DISTINCT tenant_id FROM public.%s → permission denied for schema public',
    async (table) => {
      expect(await attempt(`SELECT DISTINCT tenant_id FROM public.${table}`)).toEqual({
        code: '42501',
        message: 'permission denied for schema public',
      });
    },
  );

  it.each(TABLES)(
    'unqualified %s does not even resolve (no USAGE on public puts it off the search path)',
    async (table) => {
      expect(await attempt(`SELECT DISTINCT tenant_id FROM ${table}`)).toEqual({
        code: '42P01',
        message: `relation "${table}" does not exist`,
      });
    },
  );

  it('after SET LOCAL ROLE is rolled back, the connection is the bare authenticator again', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN; SET LOCAL ROLE tenant_acme');
      await client.query('ROLLBACK');
      const who = (await client.query('SELECT current_user AS u')).rows[0].u;
      expect(who).toBe(pgFacts().authenticator.user);
      await expect(client.query('SELECT 1 FROM public.sales LIMIT 1')).rejects.toMatchObject({
        code: '42501',
      });
    } finally {
      client.release();
    }
  });
});
