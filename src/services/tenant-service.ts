/**
 * Use cases of tenant management (admin API and CLI): a tenant is a registry entry in the
 * StateStore plus a database role in the warehouse whose isolation is proven before the tenant
 * is handed a key. Keys: create, list, rotate (grace period), revoke.
 */
import { createApiKey, DEFAULT_KEY_PERMISSIONS, revokeApiKey, rotateApiKey } from '../auth/api-key.js';
import { assertKnownPermissions } from '../auth/permissions.js';
import { ApiError, conflict, invalidRequest, notFound } from '../domain/errors.js';
import { TENANT_ID_PATTERN, type Tenant, type TenantStatus } from '../domain/tenant.js';
import type { Page, PageRequest, StateStore } from '../state/port.js';
import type { TenantRoles } from '../warehouse/port.js';

/** Tenant ids starting with this are reserved for the service itself (the admin principal). */
export const RESERVED_TENANT_PREFIX = 'spectra';
export const SYSTEM_TENANT_ID = 'spectra';
const DB_USER_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export interface CreateTenantInput {
  tenantId: string;
  name?: string | undefined;
  dbUser?: string | undefined;
  permissions?: string[] | undefined;
}

export class TenantService {
  constructor(
    private readonly deps: {
      state: StateStore;
      tenantRoles: TenantRoles | null;
      pepper: string;
      /** `{tenant}` is replaced by the id with hyphens as underscores. */
      dbUserTemplate: string;
      rotationGraceMs: number;
    },
  ) {}

  dbUserFor(tenantId: string): string {
    return this.deps.dbUserTemplate.replaceAll('{tenant}', tenantId.replaceAll('-', '_'));
  }

  async create(input: CreateTenantInput): Promise<{ tenant: Tenant; keyId: string; apiKey: string }> {
    const { tenantId } = input;
    if (!TENANT_ID_PATTERN.test(tenantId)) {
      throw invalidRequest('tenant_id must match ^[a-z][a-z0-9-]{0,62}$', { field: 'tenant_id' });
    }
    if (tenantId.startsWith(RESERVED_TENANT_PREFIX)) {
      throw invalidRequest(`tenant ids starting with "${RESERVED_TENANT_PREFIX}" are reserved`, {
        field: 'tenant_id',
      });
    }
    const dbUser = input.dbUser ?? this.dbUserFor(tenantId);
    if (!DB_USER_PATTERN.test(dbUser) || dbUser.startsWith('pg_') || dbUser.startsWith('spectra_')) {
      throw invalidRequest('db_user must be a plain lower-case role name, not pg_* or spectra_*', {
        field: 'db_user',
      });
    }
    const permissions = input.permissions ?? DEFAULT_KEY_PERMISSIONS;
    assertKnownPermissions(permissions);
    if (await this.deps.state.tenants.get(tenantId)) throw conflict(`tenant ${tenantId} already exists`);
    const roles = this.requireRoles();
    const { created } = await roles.provision(tenantId, dbUser);
    let registered = false;
    try {
      await roles.verifyIsolation(tenantId, dbUser);
      const now = new Date().toISOString();
      const tenant: Tenant = {
        tenantId,
        name: input.name ?? tenantId,
        dbUser,
        dbGroups: [],
        status: 'active',
        defaultPermissions: permissions,
        createdAt: now,
        updatedAt: now,
      };
      await this.deps.state.tenants.create(tenant);
      registered = true;
      const key = await createApiKey(this.deps.state, this.deps.pepper, tenantId, {});
      return { tenant, keyId: key.record.keyId, apiKey: key.apiKey };
    } catch (e) {
      await this.undoCreate(tenantId, dbUser, { registered, createdRole: created });
      throw e;
    }
  }

  /**
   * All-or-nothing creation: what a failed `create` made is removed, newest first. A role that
   * existed before the call is not ours to drop. Best effort: the original failure is what the
   * caller needs to see.
   */
  private async undoCreate(
    tenantId: string,
    dbUser: string,
    made: { registered: boolean; createdRole: boolean },
  ): Promise<void> {
    if (made.registered) {
      for (const key of await this.deps.state.apiKeys.listByTenant(tenantId).catch(() => [])) {
        await revokeApiKey(this.deps.state, tenantId, key.keyId).catch(() => {});
      }
      await this.deps.state.tenants.delete(tenantId).catch(() => {});
    }
    if (!made.createdRole) return;
    // A concurrent create of the same tenant may have registered it on the role we created.
    const winner = await this.deps.state.tenants.get(tenantId).catch(() => null);
    if (winner?.dbUser !== dbUser)
      await this.requireRoles()
        .drop(dbUser)
        .catch(() => {});
  }

  async get(tenantId: string): Promise<Tenant> {
    const t = tenantId.startsWith(RESERVED_TENANT_PREFIX)
      ? null
      : await this.deps.state.tenants.get(tenantId);
    if (!t) throw notFound('tenant');
    return t;
  }

  async list(page: PageRequest): Promise<Page<Tenant>> {
    const p = await this.deps.state.tenants.list(page);
    return { ...p, items: p.items.filter((t) => !t.tenantId.startsWith(RESERVED_TENANT_PREFIX)) };
  }

  async setStatus(tenantId: string, status: TenantStatus): Promise<Tenant> {
    await this.get(tenantId);
    return this.deps.state.tenants.update(tenantId, { status });
  }

  /**
   * Suspends the tenant first (authentication refuses its keys from then on), revokes every key,
   * drops the database role, removes the registry entry with its keys.
   */
  async delete(tenantId: string): Promise<void> {
    const tenant = await this.get(tenantId);
    await this.deps.state.tenants.update(tenantId, { status: 'suspended' });
    const now = new Date();
    for (const key of await this.deps.state.apiKeys.listByTenant(tenantId)) {
      if (!key.revokedAt) await revokeApiKey(this.deps.state, tenantId, key.keyId, { now });
    }
    await this.requireRoles().drop(tenant.dbUser);
    await this.deps.state.tenants.delete(tenantId);
  }

  async createKey(
    tenantId: string,
    opts: { permissions?: string[] | undefined; expiresAt?: string | null | undefined },
  ) {
    await this.get(tenantId);
    return createApiKey(this.deps.state, this.deps.pepper, tenantId, opts);
  }

  async listKeys(tenantId: string) {
    await this.get(tenantId);
    return this.deps.state.apiKeys.listByTenant(tenantId);
  }

  async rotateKey(tenantId: string, keyId: string) {
    await this.get(tenantId);
    return rotateApiKey(this.deps.state, this.deps.pepper, tenantId, keyId, {
      graceMs: this.deps.rotationGraceMs,
    });
  }

  async revokeKey(tenantId: string, keyId: string) {
    await this.get(tenantId);
    return revokeApiKey(this.deps.state, tenantId, keyId);
  }

  private requireRoles(): TenantRoles {
    if (!this.deps.tenantRoles) {
      throw new ApiError(
        'WAREHOUSE_UNAVAILABLE',
        'tenant provisioning needs a warehouse admin connection (SPECTRA_WAREHOUSE_ADMIN_URL)',
        {},
        60,
      );
    }
    return this.deps.tenantRoles;
  }
}
