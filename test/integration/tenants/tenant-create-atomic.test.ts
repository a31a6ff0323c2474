/**
 * Tenant creation is all-or-nothing (issue 16): the database role, the registry entry and the
 * first API key exist together or not at all. Real PostgreSQL for the warehouse roles and the
 * state store; failures are injected by making a real write fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantService } from '../../../src/services/tenant-service.js';
import type { StateStore } from '../../../src/state/port.js';
import { PostgresStateStore } from '../../../src/state/postgres/index.js';
import { PostgresTenantRoles } from '../../../src/warehouse/postgres/tenant-roles.js';
import { type ControlDb, createControlDb } from '../../helpers/control-db.js';
import { adminClient, pgFacts } from '../../helpers/pg-fixture.js';
import { pgUrl } from '../../helpers/spectra.js';

let control: ControlDb;
let state: PostgresStateStore;
let roles: PostgresTenantRoles;
const ROLES = ['tenant_atomic_dup', 'tenant_atomic_nokey', 'tenant_atomic_pre', 'tenant_atomic_ok'];

/** Roles are cluster-wide: leave none of this file's behind, whatever a run did. */
async function dropTestRoles() {
  for (const name of ROLES) await roles.drop(name).catch(() => {});
  const admin = await adminClient();
  try {
    for (const name of ROLES) await admin.query(`DROP ROLE IF EXISTS ${name}`);
  } finally {
    await admin.end();
  }
}

beforeAll(async () => {
  const f = pgFacts();
  control = await createControlDb('tenant_atomic');
  state = new PostgresStateStore({ connectionString: control.url, poolSize: 4 });
  await state.migrate();
  roles = new PostgresTenantRoles({
    connectionString: pgUrl(f.superuser, f.superuserPassword, f.warehouseDb),
  });
  await dropTestRoles();
});
afterAll(async () => {
  if (roles) await dropTestRoles();
  await roles?.close();
  await state?.close();
  await control?.drop();
});

function service(store: StateStore = state) {
  return new TenantService({
    state: store,
    tenantRoles: roles,
    pepper: 'atomic-pepper',
    dbUserTemplate: 'tenant_{tenant}',
    rotationGraceMs: 0,
  });
}

async function roleExists(name: string): Promise<boolean> {
  const admin = await adminClient();
  try {
    return ((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount ?? 0) > 0;
  } finally {
    await admin.end();
  }
}

describe('creating a tenant', () => {
  it('drops the role it created when the registry write fails (db_user already registered)', async () => {
    // The registry already names this role for another tenant, but no such role exists yet.
    const now = new Date().toISOString();
    await state.tenants.create({
      tenantId: 'atomic-holder',
      name: 'holder',
      dbUser: 'tenant_atomic_dup',
      dbGroups: [],
      status: 'active',
      defaultPermissions: [],
      createdAt: now,
      updatedAt: now,
    });
    await expect(
      service().create({ tenantId: 'atomic-dup', dbUser: 'tenant_atomic_dup' }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await roleExists('tenant_atomic_dup')).toBe(false);
    expect(await state.tenants.get('atomic-dup')).toBeNull();
  });

  it('removes the role and the registry entry when the first key cannot be stored', async () => {
    const failingKeys: StateStore = Object.create(state, {
      apiKeys: {
        value: {
          ...state.apiKeys,
          create: async () => {
            throw new Error('key store refused the write');
          },
        },
      },
    });
    await expect(service(failingKeys).create({ tenantId: 'atomic-nokey' })).rejects.toThrow(
      'key store refused the write',
    );
    expect(await roleExists('tenant_atomic_nokey')).toBe(false);
    expect(await state.tenants.get('atomic-nokey')).toBeNull();
  });

  it('leaves a role it did not create in place', async () => {
    const admin = await adminClient();
    try {
      await admin.query('DROP ROLE IF EXISTS tenant_atomic_pre');
      await admin.query('CREATE ROLE tenant_atomic_pre NOLOGIN');
    } finally {
      await admin.end();
    }
    const now = new Date().toISOString();
    await state.tenants.create({
      tenantId: 'atomic-holder2',
      name: 'holder',
      dbUser: 'tenant_atomic_pre',
      dbGroups: [],
      status: 'active',
      defaultPermissions: [],
      createdAt: now,
      updatedAt: now,
    });
    await expect(
      service().create({ tenantId: 'atomic-pre', dbUser: 'tenant_atomic_pre' }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await roleExists('tenant_atomic_pre')).toBe(true);
  });

  it('a created tenant has its role, its registry entry and a working key', async () => {
    const r = await service().create({ tenantId: 'atomic-ok' });
    expect(await roleExists('tenant_atomic_ok')).toBe(true);
    expect((await state.tenants.get('atomic-ok'))?.dbUser).toBe('tenant_atomic_ok');
    expect(r.apiKey).toMatch(/^spk_atomic-ok_/);
    await service().delete('atomic-ok');
    expect(await roleExists('tenant_atomic_ok')).toBe(false);
  });
});
