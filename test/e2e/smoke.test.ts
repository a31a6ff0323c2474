import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

let spectra: TestSpectra;
beforeAll(async () => {
  spectra = await startSpectra();
});
afterAll(async () => {
  await spectra?.close();
});

describe('the service end to end', () => {
  it('answers a tenant query with only that tenant’s rows', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT DISTINCT tenant_id FROM sales' });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.data).toEqual([{ tenant_id: 'acme' }]);
    expect(body.metadata.columns).toEqual(['tenant_id']);
  });

  it('lets the admin key create a tenant whose key queries at once', async () => {
    const id = `t${Date.now().toString(36)}`;
    const res = await spectra.request('/v1/admin/tenants', {
      key: spectra.adminKey,
      body: { tenant_id: id },
    });
    expect(res.status).toBe(201);
    const created = await json(res);
    expect(created.api_key).toMatch(new RegExp(`^spk_${id}_`));
    const q = await spectra.request('/v1/queries', {
      key: created.api_key,
      body: { sql: 'SELECT count(*) AS n FROM sales' },
    });
    expect(q.status).toBe(200);
    expect((await json(q)).data).toEqual([{ n: 0 }]);
    const del = await spectra.request(`/v1/admin/tenants/${id}`, { key: spectra.adminKey, method: 'DELETE' });
    expect(del.status).toBe(204);
  });
});
