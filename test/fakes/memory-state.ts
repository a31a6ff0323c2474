/**
 * In-memory StateStore for the auth tests ONLY: tenants and API keys behave like
 * the port says; jobs are not implemented. The real adapters are covered by the StateStore contract
 * suite and by test/integration/auth against PostgreSQL.
 */
import { conflict, notFound } from '../../src/domain/errors.js';
import type { ApiKeyRecord, Tenant } from '../../src/domain/tenant.js';
import type { StateStore } from '../../src/state/port.js';

export class MemoryState implements StateStore {
  readonly tenantRows = new Map<string, Tenant>();
  readonly keyRows = new Map<string, ApiKeyRecord>();
  /** Counts reads, so tests can see what a cache saves. */
  reads = { tenants: 0, apiKeys: 0 };

  readonly tenants: StateStore['tenants'] = {
    get: async (tenantId) => {
      this.reads.tenants++;
      const t = this.tenantRows.get(tenantId);
      return t ? structuredClone(t) : null;
    },
    create: async (tenant) => {
      if (this.tenantRows.has(tenant.tenantId)) throw conflict('tenant exists');
      this.tenantRows.set(tenant.tenantId, structuredClone(tenant));
    },
    update: async (tenantId, patch) => {
      const t = this.tenantRows.get(tenantId);
      if (!t) throw notFound('tenant');
      const next = { ...t, ...patch, updatedAt: new Date().toISOString() };
      this.tenantRows.set(tenantId, next);
      return structuredClone(next);
    },
    delete: async (tenantId) => {
      this.tenantRows.delete(tenantId);
      for (const [keyId, k] of this.keyRows) if (k.tenantId === tenantId) this.keyRows.delete(keyId);
    },
    list: async () => ({
      items: [...this.tenantRows.values()].map((t) => structuredClone(t)),
      nextCursor: null,
    }),
  };

  readonly apiKeys: StateStore['apiKeys'] = {
    get: async (keyId) => {
      this.reads.apiKeys++;
      const k = this.keyRows.get(keyId);
      return k ? structuredClone(k) : null;
    },
    create: async (key) => {
      if (this.keyRows.has(key.keyId)) throw conflict('key exists');
      this.keyRows.set(key.keyId, structuredClone(key));
    },
    listByTenant: async (tenantId) =>
      [...this.keyRows.values()].filter((k) => k.tenantId === tenantId).map((k) => structuredClone(k)),
    update: async (keyId, patch) => {
      const k = this.keyRows.get(keyId);
      if (k) this.keyRows.set(keyId, { ...k, ...patch });
    },
  };

  readonly jobs: StateStore['jobs'] = {
    create: async () => notImplemented(),
    get: async () => notImplemented(),
    transition: async () => notImplemented(),
    list: async () => notImplemented(),
  };

  // The async-job stores are not part of this double either (test/integration/jobs covers them).
  readonly jobQueue = {} as StateStore['jobQueue'];
  readonly jobRetention = {} as StateStore['jobRetention'];
  readonly idempotency = {} as StateStore['idempotency'];
  // Nor are the operability stores (test/integration/audit covers them).
  readonly audit = {} as StateStore['audit'];
  readonly rateLimits = {} as StateStore['rateLimits'];
  readonly sessions = {} as StateStore['sessions'];
  readonly stats = {} as StateStore['stats'];

  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  addTenant(tenantId: string, over: Partial<Tenant> = {}): Tenant {
    const now = new Date().toISOString();
    const t: Tenant = {
      tenantId,
      name: tenantId,
      dbUser: `tenant_${tenantId.replace(/-/g, '_')}`,
      dbGroups: ['tenants'],
      status: 'active',
      defaultPermissions: ['query:*', 'bulk:*'],
      createdAt: now,
      updatedAt: now,
      ...over,
    };
    this.tenantRows.set(tenantId, t);
    return t;
  }
}

function notImplemented(): never {
  throw new Error('jobs are not part of the auth test double');
}
