/**
 * Schema discovery as a tenant sees it (issue 18): the catalog API lists the demo tables with the
 * type names query metadata uses, shows a table only to the tenants its grants allow, answers 404
 * for another tenant's table exactly as for a table that does not exist, and needs `catalog:read`.
 * Also `GET /v1/me`. Real HTTP, the real warehouse catalog (or the Data API fake on the aws stack).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

let spectra: TestSpectra;
/** A table only acme's database role may read. */
const privateTable = `acme_private_${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  const admin = await adminClient();
  try {
    await admin.query(`
      CREATE TABLE public.${privateTable} (id integer PRIMARY KEY, note varchar(40));
      COMMENT ON TABLE public.${privateTable} IS 'acme only';
      GRANT SELECT ON public.${privateTable} TO tenant_acme;`);
  } finally {
    await admin.end();
  }
  spectra = await startSpectra();
});
afterAll(async () => {
  await spectra?.close();
  const admin = await adminClient();
  try {
    await admin.query(`DROP TABLE IF EXISTS public.${privateTable}`);
  } finally {
    await admin.end();
  }
});

async function ok(res: Response) {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text);
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are inspected as JSON
const byName = (tables: any[], name: string) => tables.find((t) => t.schema === 'public' && t.name === name);

describe('GET /v1/catalog/tables', () => {
  it('lists sales, customers and products with their columns, types as query metadata names them', async () => {
    const { tables } = await ok(await spectra.request('/v1/catalog/tables', { tenant: 'globex' }));
    for (const name of ['sales', 'customers', 'products']) {
      const table = byName(tables, name);
      expect(table, name).toBeDefined();
      expect(table.kind).toBe('table');
      const meta = (await ok(await spectra.query('globex', { sql: `SELECT * FROM ${name} LIMIT 0` })))
        .metadata;
      expect(table.columns.map((c: { name: string }) => c.name)).toEqual(meta.columns);
      expect(table.columns.map((c: { type: string }) => c.type)).toEqual(meta.column_types);
      // Shared tables under row-level security: a count would be every tenant's rows.
      expect(table.row_estimate).toBeNull();
    }
    const sales = byName(tables, 'sales');
    expect(sales.primary_key).toEqual(['tenant_id', 'sale_id']);
    expect(sales.columns.find((c: { name: string }) => c.name === 'amount')).toEqual({
      name: 'amount',
      type: 'DECIMAL(12,2)',
      nullable: false,
    });
    expect(
      byName(tables, 'customers').columns.find((c: { name: string }) => c.name === 'email').nullable,
    ).toBe(true);
    // Nothing of ours or of the system: no spectra_* schema, no pg_catalog, no information_schema.
    for (const t of tables) expect(t.schema).not.toMatch(/^(pg_|spectra_|information_schema$)/);
  });

  it('shows a table only to the tenants that may read it', async () => {
    const acme = (await ok(await spectra.request('/v1/catalog/tables', { tenant: 'acme' }))).tables;
    expect(byName(acme, privateTable)).toMatchObject({
      kind: 'table',
      columns: [
        { name: 'id', type: 'INTEGER', nullable: false },
        { name: 'note', type: 'VARCHAR(40)', nullable: true },
      ],
      primary_key: ['id'],
      description: 'acme only',
    });
    const globex = (await ok(await spectra.request('/v1/catalog/tables', { tenant: 'globex' }))).tables;
    expect(byName(globex, privateTable)).toBeUndefined();
  });
});

describe('GET /v1/catalog/tables/{name}', () => {
  it('describes one table, by plain or schema-qualified name', async () => {
    const plain = await ok(await spectra.request('/v1/catalog/tables/products', { tenant: 'initech' }));
    const qualified = await ok(
      await spectra.request('/v1/catalog/tables/public.products', { tenant: 'initech' }),
    );
    expect(plain).toEqual(qualified);
    expect(plain).toMatchObject({
      schema: 'public',
      name: 'products',
      primary_key: ['tenant_id', 'product_id'],
    });
  });

  it('answers another tenant’s table exactly as a table that does not exist: 404 NOT_FOUND', async () => {
    const hidden = await spectra.request(`/v1/catalog/tables/${privateTable}`, { tenant: 'globex' });
    const missing = await spectra.request(`/v1/catalog/tables/${privateTable}_x`, { tenant: 'globex' });
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    const [a, b] = [(await json(hidden)).error, (await json(missing)).error];
    expect(a.code).toBe('NOT_FOUND');
    expect(a.message.replace(privateTable, 'T')).toBe(b.message.replace(`${privateTable}_x`, 'T'));
    expect(Object.keys(a.details)).toEqual(Object.keys(b.details));
    await ok(await spectra.request(`/v1/catalog/tables/${privateTable}`, { tenant: 'acme' }));
  });
});

describe('permissions', () => {
  it('needs catalog:read, which new keys get by default', async () => {
    const create = async (permissions?: string[]) => {
      const res = await spectra.request('/v1/admin/tenants/acme/keys', {
        key: spectra.adminKey,
        method: 'POST',
        body: permissions ? { permissions } : {},
      });
      expect(res.status).toBe(201);
      return (await json(res)).api_key as string;
    };
    const narrow = await create(['query:execute']);
    const refused = await spectra.request('/v1/catalog/tables', { key: narrow });
    expect(refused.status).toBe(403);
    expect((await json(refused)).error.details.required).toEqual(['catalog:read']);
    const standard = await create();
    await ok(await spectra.request('/v1/catalog/tables', { key: standard }));
  });
});

describe('GET /v1/me', () => {
  it('says who a tenant key is, with its permissions', async () => {
    const me = await ok(await spectra.request('/v1/me', { tenant: 'acme' }));
    expect(me).toEqual({
      tenant_id: 'acme',
      key_id: spectra.keys.acme!.slice('spk_acme_'.length, 'spk_acme_'.length + 16),
      auth: 'api_key',
      permissions: ['query:*', 'bulk:*', 'catalog:read'],
      rate_limit: null,
    });
  });

  it('says the admin key is the admin', async () => {
    const me = await ok(await spectra.request('/v1/me', { key: spectra.adminKey }));
    expect(me).toMatchObject({ auth: 'admin', permissions: ['admin:*'] });
  });

  it('is 401 without a credential', async () => {
    expect((await spectra.request('/v1/me')).status).toBe(401);
  });
});

describe('unknown permissions', () => {
  it('are refused the same way by tenant creation and key creation, naming them and the valid ones', async () => {
    const errors = [];
    for (const [path, body] of [
      [
        '/v1/admin/tenants',
        { tenant_id: `perm-${randomBytes(3).toString('hex')}`, permissions: ['query:read'] },
      ],
      ['/v1/admin/tenants/acme/keys', { permissions: ['query:read'] }],
    ] as const) {
      const res = await spectra.request(path, { key: spectra.adminKey, method: 'POST', body });
      expect(res.status).toBe(400);
      errors.push((await json(res)).error);
    }
    for (const e of errors) {
      expect(e.code).toBe('INVALID_REQUEST');
      expect(e.message).toMatch(
        /^unknown permission "query:read"; valid permissions: query:execute, .*catalog:read/,
      );
      expect(e.details).toMatchObject({ field: 'permissions', unknown: ['query:read'] });
    }
    expect(errors[0].message).toBe(errors[1].message);
  });
});
