/**
 * Issue 16, defect 3: NUL characters and lone UTF-16 surrogates entering over HTTP — in JSON
 * bodies, path and query parameters — are refused with 400 INVALID_REQUEST naming the field,
 * before anything below the HTTP layer sees them (real HTTP, real PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

let spectra: TestSpectra;

beforeAll(async () => {
  spectra = await startSpectra();
});
afterAll(async () => {
  await spectra?.close();
});

async function expectRefused(res: Response, field: string) {
  const text = await res.text();
  expect(res.status, text).toBe(400);
  const body = JSON.parse(text);
  expect(body.error.code).toBe('INVALID_REQUEST');
  expect(body.error.details.field).toBe(field);
  expect(body.error.request_id).toEqual(expect.any(String));
}

describe('the red-team cases of issue 16', () => {
  it('a lone surrogate in the SQL text is 400 naming sql, and no statement runs', async () => {
    const res = await spectra.request('/v1/queries', {
      tenant: 'acme',
      body: '{"sql": "SELECT 1 AS x -- \\ud800"}',
    });
    await expectRefused(res, 'sql');
  });

  it('a NUL in the SQL text is 400 naming sql', async () => {
    const res = await spectra.request('/v1/queries', {
      tenant: 'acme',
      body: { sql: 'SELECT 1 AS x -- \u0000' },
    });
    await expectRefused(res, 'sql');
  });

  it('a NUL in async params is 400 naming the param, like the sync path', async () => {
    for (const async of [true, false]) {
      const res = await spectra.query('acme', { sql: 'SELECT :x AS x', params: { x: 'a\u0000b' }, async });
      await expectRefused(res, 'params.x');
    }
  });

  it('%00 in a job id is 400 naming the path parameter, for reads and cancels', async () => {
    await expectRefused(await spectra.request('/v1/jobs/job-%00', { tenant: 'acme' }), 'path.id');
    await expectRefused(
      await spectra.request('/v1/jobs/job-%00', { tenant: 'acme', method: 'DELETE' }),
      'path.id',
    );
    await expectRefused(await spectra.request('/v1/jobs/job-%00/results', { tenant: 'acme' }), 'path.id');
  });

  it('%00 in bulk job ids and admin tenant and key ids is 400', async () => {
    const admin = spectra.adminKey;
    await expectRefused(await spectra.request('/v1/bulk/jobs/bulk-%00', { tenant: 'acme' }), 'path.id');
    await expectRefused(await spectra.request('/v1/admin/tenants/a%00', { key: admin }), 'path.id');
    await expectRefused(
      await spectra.request('/v1/admin/tenants/acme/keys/k%00', { key: admin, method: 'DELETE' }),
      'path.key_id',
    );
  });

  it('a NUL in bulk external_id_field is 400', async () => {
    const res = await spectra.request('/v1/bulk/jobs', {
      tenant: 'acme',
      body: { operation: 'upsert', object: 'sales', external_id_field: 'sale\u0000id' },
    });
    await expectRefused(res, 'external_id_field');
  });

  it('a NUL in a new tenant name is 400 and leaves no database role behind', async () => {
    const res = await spectra.request('/v1/admin/tenants', {
      key: spectra.adminKey,
      body: { tenant_id: 'nulname', name: 'bad\u0000name' },
    });
    await expectRefused(res, 'name');
    const admin = await adminClient();
    try {
      const roles = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'tenant_nulname'");
      expect(roles.rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('a malformed percent escape or invalid UTF-8 in the path is 400, not 500', async () => {
    for (const id of ['job-%ZZ', 'job-%C3%28', 'job-%ED%A0%80', 'job-%']) {
      const res = await spectra.request(`/v1/jobs/${id}`, { tenant: 'acme' });
      const text = await res.text();
      expect(res.status, `${id}: ${text}`).toBe(400);
      expect(JSON.parse(text).error.code).toBe('INVALID_REQUEST');
    }
  });

  it('a NUL in a query-string parameter is 400 naming it', async () => {
    await expectRefused(await spectra.request('/v1/jobs?cursor=a%00b', { tenant: 'acme' }), 'query.cursor');
  });
});
