/**
 * Tenant tables for bulk tests, created as the superuser like the demo tables: owned by
 * spectra_owner, RLS enabled and forced with the tenant policy, writable by spectra_tenants,
 * `tenant_id` defaulting to the writer's tenant. Names are unique per call; drop them after.
 */
import { randomBytes } from 'node:crypto';
import { CURRENT_TENANT_SQL } from '../../src/warehouse/embedded/bootstrap.js';
import { adminClient } from './pg-fixture.js';

export interface TenantTable {
  name: string;
  /** Runs SQL as the superuser (bypasses RLS: for checksums over every tenant). */
  admin<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createTenantTable(
  label: string,
  columns: string,
  key: string,
  opts: { writable?: boolean } = {},
): Promise<TenantTable> {
  const name = `bulk_${label}_${randomBytes(3).toString('hex')}`;
  const admin = await adminClient();
  try {
    await admin.query(`
      CREATE TABLE public.${name} (tenant_id text NOT NULL DEFAULT spectra_rls.tenant_of(current_user), ${columns},
        PRIMARY KEY (tenant_id, ${key}));
      ALTER TABLE public.${name} OWNER TO spectra_owner;
      ALTER TABLE public.${name} ENABLE ROW LEVEL SECURITY;
      ALTER TABLE public.${name} FORCE ROW LEVEL SECURITY;
      CREATE POLICY tenant_isolation ON public.${name} AS PERMISSIVE FOR ALL TO spectra_tenants
        USING (tenant_id = ${CURRENT_TENANT_SQL}) WITH CHECK (tenant_id = ${CURRENT_TENANT_SQL});
      GRANT SELECT ${opts.writable === false ? '' : ', INSERT, UPDATE, DELETE'} ON public.${name} TO spectra_tenants;`);
  } finally {
    await admin.end();
  }
  return {
    name,
    admin: async <T>(sql: string, params: unknown[] = []) => {
      const c = await adminClient();
      try {
        return (await c.query(sql, params)).rows as T[];
      } finally {
        await c.end();
      }
    },
    drop: async () => {
      const c = await adminClient();
      try {
        await c.query(`DROP TABLE IF EXISTS public.${name}`);
      } finally {
        await c.end();
      }
    },
  };
}
