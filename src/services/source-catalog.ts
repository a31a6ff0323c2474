/**
 * The warehouse catalog as the Planner asks it (`SourceCatalog`): the columns a PIVOT/UNPIVOT over a
 * table needs on a PostgreSQL warehouse, read as the caller's database user, so a tenant learns
 * only columns it may read. Undefined for a warehouse that reads its own catalog (Redshift).
 */
import type { Principal } from '../domain/principal.js';
import type { SourceCatalog } from '../sql/index.js';
import type { Warehouse } from '../warehouse/port.js';

/** A catalog read, not a tenant's statement: bounded well below any statement timeout. */
const COLUMNS_TIMEOUT_MS = 10_000;

export function tenantSourceCatalog(
  warehouse: Pick<Warehouse, 'relationColumns'>,
  principal: Principal,
): SourceCatalog | undefined {
  const read = warehouse.relationColumns;
  if (read === undefined) return undefined;
  const ctx = {
    tenantId: principal.tenantId,
    dbUser: principal.dbUser,
    timeoutMs: COLUMNS_TIMEOUT_MS,
    label: 'catalog',
  };
  return { columnsOf: (relations) => read.call(warehouse, ctx, relations) };
}
