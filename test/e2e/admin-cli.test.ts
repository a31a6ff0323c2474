/**
 * Issue 4 acceptance: `spectra tenants create` against a running server yields a key that can
 * query at once and sees only its own rows; `spectra keys revoke` makes it fail within 1 s.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { waitFor } from '../helpers/time.js';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/spectra.js');

let spectra: TestSpectra;
const tenantId = `newco${Date.now().toString(36)}`;

async function cli(...args: string[]) {
  const { stdout } = await run(process.execPath, [
    BIN,
    ...args,
    '--url',
    spectra.url,
    '--admin-key',
    spectra.adminKey,
  ]);
  return JSON.parse(stdout);
}

beforeAll(async () => {
  spectra = await startSpectra();
});
afterAll(async () => {
  await cli('tenants', 'delete', tenantId).catch(() => {});
  await spectra?.close();
});

describe('tenant lifecycle through the CLI', () => {
  it('creates a tenant whose first key queries immediately and sees only its own rows', async () => {
    const created = await cli('tenants', 'create', tenantId, '--name', 'New Co');
    expect(created).toMatchObject({ tenant_id: tenantId, db_user: `tenant_${tenantId}`, status: 'active' });
    const admin = await adminClient();
    try {
      await admin.query(
        `INSERT INTO customers (customer_id, tenant_id, name, email, region, created_at)
         VALUES (1, $1, 'Mine', 'mine@example.com', 'EMEA', now())`,
        [tenantId],
      );
    } finally {
      await admin.end();
    }
    const res = await spectra.request('/v1/queries', {
      key: created.api_key,
      body: { sql: 'SELECT tenant_id, name FROM customers' },
    });
    expect(res.status).toBe(200);
    expect((await json(res)).data).toEqual([{ tenant_id: tenantId, name: 'Mine' }]);
    const sales = await spectra.request('/v1/queries', {
      key: created.api_key,
      body: { sql: 'SELECT count(*) AS n FROM sales' },
    });
    expect((await json(sales)).data).toEqual([{ n: 0 }]);

    const keys = await cli('keys', 'list', tenantId);
    expect(keys.keys).toHaveLength(1);
    expect(JSON.stringify(keys)).not.toContain(created.api_key.slice(-64));

    await cli('keys', 'revoke', tenantId, created.key_id);
    // The server's key cache lets it through for at most 1 s (unit: api-key.test.ts, on a manual clock).
    const status = await waitFor(async () => {
      const s = (
        await spectra.request('/v1/queries', { key: created.api_key, body: { sql: 'SELECT 1 AS one' } })
      ).status;
      return s !== 200 && s;
    });
    expect(status).toBe(401);
  });

  it('rotates a key: the new one works, and suspension locks every key out', async () => {
    const issued = await cli('keys', 'create', tenantId);
    const rotated = await cli('keys', 'rotate', tenantId, issued.key_id);
    expect(rotated.previous_key_valid_until).toBeTruthy();
    for (const key of [issued.api_key, rotated.api_key]) {
      const r = await spectra.request('/v1/queries', { key, body: { sql: 'SELECT 1 AS one' } });
      expect(r.status).toBe(200);
    }
    await cli('tenants', 'suspend', tenantId);
    await new Promise((r) => setTimeout(r, 1100));
    const r = await spectra.request('/v1/queries', {
      key: rotated.api_key,
      body: { sql: 'SELECT 1 AS one' },
    });
    expect(r.status).toBe(403);
    expect((await json(r)).error.code).toBe('FORBIDDEN');
    await cli('tenants', 'resume', tenantId);
  });

  it('refuses admin routes to tenant keys and tenant ids in the reserved namespace', async () => {
    const r = await spectra.request('/v1/admin/tenants', { tenant: 'acme' });
    expect(r.status).toBe(403);
    const bad = await spectra.request('/v1/admin/tenants', {
      key: spectra.adminKey,
      body: { tenant_id: 'spectra-x' },
    });
    expect(bad.status).toBe(400);
  });
});
