/**
 * Warehouse adapters and execution contexts on the run's PostgreSQL, for tests that compare or
 * drive adapters directly (no service around them).
 */

import type { ExecutionContext } from '../../src/warehouse/port.js';
import { PostgresWarehouse, type PostgresWarehouseOptions } from '../../src/warehouse/postgres/index.js';
import { pgFacts } from './pg-fixture.js';

/** The PostgreSQL adapter logged in as the non-superuser authenticator role, on the warehouse database. */
export function authenticatorWarehouse(
  poolSize = 2,
  extra: Pick<PostgresWarehouseOptions, 'maxRowBytes' | 'resultMemory'> = {},
): PostgresWarehouse {
  const f = pgFacts();
  return new PostgresWarehouse({
    host: f.host,
    port: f.port,
    user: f.authenticator.user,
    password: f.authenticator.password,
    database: f.warehouseDb,
    poolSize,
    ...extra,
  });
}

/** A statement's context as a demo tenant (`tenant_<id>` role), 30 s timeout. */
export function tenantContext(
  tenant: string,
  label: string,
  over: Partial<ExecutionContext> = {},
): ExecutionContext {
  return { tenantId: tenant, dbUser: `tenant_${tenant}`, timeoutMs: 30_000, label, ...over };
}
