/**
 * The catalog cache: one warehouse catalog read per tenant per TTL on a clock the test moves,
 * shared by concurrent callers, never kept when it failed; and how a name finds its table.
 * The warehouse side is a counting stand-in here; test/e2e/catalog.test.ts runs the real one.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import type { Principal } from '../../../src/domain/principal.js';
import { CatalogService } from '../../../src/services/catalog-service.js';
import type { CatalogTable, ExecutionContext } from '../../../src/warehouse/port.js';
import { manualClock } from '../../helpers/time.js';

const principal = (tenantId: string): Principal => ({
  tenantId,
  dbUser: `tenant_${tenantId}`,
  dbGroups: [],
  permissions: ['catalog:read'],
  authMethod: 'api_key',
  credentialId: '0123456789abcdef',
});

const table = (schema: string, name: string): CatalogTable => ({
  schema,
  name,
  kind: 'table',
  columns: [{ name: 'id', type: 'INTEGER', nullable: false }],
  primaryKey: ['id'],
  rowEstimate: null,
  description: null,
});

function countingWarehouse(tables: CatalogTable[] = [table('public', 'sales')]) {
  const calls: ExecutionContext[] = [];
  let fail = false;
  return {
    calls,
    failNext() {
      fail = true;
    },
    listTables: async (ctx: ExecutionContext) => {
      calls.push(ctx);
      if (fail) {
        fail = false;
        throw new ApiError('WAREHOUSE_UNAVAILABLE', 'down');
      }
      return tables;
    },
  };
}

describe('CatalogService cache', () => {
  it('reads each tenant’s catalog once per TTL, as that tenant’s database user', async () => {
    const clock = manualClock(0);
    const wh = countingWarehouse();
    const catalog = new CatalogService(wh, { ttlMs: 30_000, timeoutMs: 5000, now: clock.now });
    await catalog.list(principal('acme'));
    await catalog.list(principal('acme'));
    await catalog.get(principal('acme'), 'sales');
    expect(wh.calls).toHaveLength(1);
    expect(wh.calls[0]).toMatchObject({ tenantId: 'acme', dbUser: 'tenant_acme', timeoutMs: 5000 });
    await catalog.list(principal('globex'));
    expect(wh.calls.map((c) => c.tenantId)).toEqual(['acme', 'globex']);
    clock.advance(29_999);
    await catalog.list(principal('acme'));
    expect(wh.calls).toHaveLength(2);
    clock.advance(1);
    await catalog.list(principal('acme'));
    expect(wh.calls).toHaveLength(3);
  });

  it('shares one read between concurrent callers', async () => {
    const wh = countingWarehouse();
    const catalog = new CatalogService(wh, { ttlMs: 30_000, timeoutMs: 5000, now: manualClock(0).now });
    await Promise.all([1, 2, 3].map(() => catalog.list(principal('acme'))));
    expect(wh.calls).toHaveLength(1);
  });

  it('does not keep a failed read', async () => {
    const wh = countingWarehouse();
    const catalog = new CatalogService(wh, { ttlMs: 30_000, timeoutMs: 5000, now: manualClock(0).now });
    wh.failNext();
    await expect(catalog.list(principal('acme'))).rejects.toMatchObject({ code: 'WAREHOUSE_UNAVAILABLE' });
    await expect(catalog.list(principal('acme'))).resolves.toHaveLength(1);
    expect(wh.calls).toHaveLength(2);
  });

  it('TTL 0 reads on every request', async () => {
    const wh = countingWarehouse();
    const catalog = new CatalogService(wh, { ttlMs: 0, timeoutMs: 5000, now: manualClock(0).now });
    await catalog.list(principal('acme'));
    await catalog.list(principal('acme'));
    expect(wh.calls).toHaveLength(2);
  });
});

describe('CatalogService.get', () => {
  const tables = [table('public', 'sales'), table('staging', 'sales'), table('staging', 'events')];
  const catalog = new CatalogService(countingWarehouse(tables), { ttlMs: 1000, timeoutMs: 5000 });

  it('prefers public for an unqualified name, and follows a schema-qualified one', async () => {
    expect(await catalog.get(principal('acme'), 'sales')).toMatchObject({ schema: 'public' });
    expect(await catalog.get(principal('acme'), 'staging.sales')).toMatchObject({ schema: 'staging' });
    expect(await catalog.get(principal('acme'), 'events')).toMatchObject({ schema: 'staging' });
    expect(await catalog.get(principal('acme'), 'SALES')).toMatchObject({ schema: 'public', name: 'sales' });
  });

  it('is NOT_FOUND for a name the tenant cannot read, whatever its shape', async () => {
    for (const name of ['nope', 'public.events', 'a.b.c', '"quoted"']) {
      await expect(catalog.get(principal('acme'), name)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
  });
});
