/**
 * Schema discovery (`GET /v1/catalog/tables[/{name}]`): the tables a tenant can read, as the
 * warehouse's catalog answers for the tenant's database user. One catalog read per tenant per
 * TTL (SPECTRA_CATALOG_CACHE_SECONDS): concurrent callers share it, a failed read is not kept.
 * A name the tenant cannot read is NOT_FOUND exactly like a name that does not exist.
 */
import { ApiError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import type { CatalogTable, Warehouse } from '../warehouse/port.js';

export interface CatalogServiceOptions {
  /** How long a tenant's catalog is reused; 0 = read it on every request. */
  ttlMs: number;
  /** Statement timeout of the catalog read. */
  timeoutMs: number;
  now?: () => number;
}

interface CacheEntry {
  expiresAt: number;
  tables: Promise<CatalogTable[]>;
}

/** `table` or `schema.table`; quoted identifiers are not needed to look a name up. */
const TABLE_NAME = /^(?:([^.\s"]{1,127})\.)?([^.\s"]{1,127})$/;

export class CatalogService {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly now: () => number;

  constructor(
    private readonly warehouse: Required<Pick<Warehouse, 'listTables'>>,
    private readonly opts: CatalogServiceOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  async list(principal: Principal): Promise<CatalogTable[]> {
    const key = `${principal.tenantId}\u0000${principal.dbUser}`;
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > now) return cached.tables;
    this.sweep(now);
    const tables = this.warehouse.listTables({
      tenantId: principal.tenantId,
      dbUser: principal.dbUser,
      timeoutMs: this.opts.timeoutMs,
      label: 'catalog',
    });
    const entry: CacheEntry = { expiresAt: now + this.opts.ttlMs, tables };
    if (this.opts.ttlMs > 0) this.cache.set(key, entry);
    tables.catch(() => {
      if (this.cache.get(key) === entry) this.cache.delete(key);
    });
    return tables;
  }

  /** One table by `name` or `schema.name` (an unqualified name prefers `public`); NOT_FOUND when not readable. */
  async get(principal: Principal, name: string): Promise<CatalogTable> {
    const m = TABLE_NAME.exec(name);
    if (!m) throw notReadable(name);
    const [, schema, table] = m as unknown as [string, string | undefined, string];
    const tables = await this.list(principal);
    // Unquoted SQL names fold to lower case: an exact match wins over the folded one.
    const matches = (want: string, got: string) => got === want || got === want.toLowerCase();
    const named = tables.filter(
      (t) => matches(table, t.name) && (schema === undefined || matches(schema, t.schema)),
    );
    const exact = named.filter((t) => t.name === table && (schema === undefined || t.schema === schema));
    const found = exact.length > 0 ? exact : named;
    if (found.length === 0) throw notReadable(name);
    if (found.length === 1) return found[0]!;
    const inPublic = found.find((t) => t.schema === 'public');
    if (inPublic) return inPublic;
    throw new ApiError('INVALID_REQUEST', `table name "${name}" is ambiguous: qualify it with its schema`, {
      field: 'name',
      candidates: found.map((t) => `${t.schema}.${t.name}`),
    });
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.cache) if (entry.expiresAt <= now) this.cache.delete(key);
  }
}

function notReadable(name: string): ApiError {
  return new ApiError('NOT_FOUND', `table ${JSON.stringify(name)} not found`, { table: name });
}
