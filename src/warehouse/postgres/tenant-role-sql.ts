/**
 * Tenant roles in a PostgreSQL-protocol warehouse: the role DDL (a NOLOGIN role per tenant, mapped to
 * its tenant for row-level security) and the isolation probe. Used by PostgresTenantRoles and by the
 * embedded server's bootstrap, which builds on this adapter.
 */
import pg from 'pg';

/** Where the embedded warehouse's Redshift compatibility functions live (embedded/redshift-compat.ts). */
export const REDSHIFT_COMPAT_SCHEMA = 'spectra_redshift';
/** The warehouse search_path of tenant statements: compatibility functions first, then PostgreSQL's, then the tables. */
export const TENANT_SEARCH_PATH = `${REDSHIFT_COMPAT_SCHEMA}, pg_catalog, public`;

export const WAREHOUSE_ROLES = {
  owner: 'spectra_owner',
  tenants: 'spectra_tenants',
  authenticator: 'spectra_authenticator',
  state: 'spectra_state',
  stager: 'spectra_stager',
} as const;

const TENANT_ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
const ROLE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const RESERVED_ROLE_PREFIXES = ['pg_', 'spectra_'];

const ident = (name: string) => pg.escapeIdentifier(name);

export function validateTenantId(tenantId: string): void {
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    throw new Error(`invalid tenant id ${JSON.stringify(tenantId)}: expected ^[a-z][a-z0-9-]{0,62}$`);
  }
}

/**
 * Idempotent: creates `dbUser` NOLOGIN if missing, makes it a member of spectra_tenants, lets the
 * authenticator `SET ROLE` to it (without inheriting its rights) and maps it to `tenantId`.
 * Refuses a privileged existing role and a role already mapped to another tenant. Does not open a
 * transaction: run it inside one for atomicity.
 */
export async function provisionTenantRole(
  adminClientOnWarehouseDb: pg.ClientBase,
  tenantId: string,
  dbUser: string,
): Promise<void> {
  const client = adminClientOnWarehouseDb;
  validateTenantId(tenantId);
  validateTenantRoleName(dbUser);
  const { tenants, authenticator } = WAREHOUSE_ROLES;

  const { rows } = await client.query<{ privileged: boolean }>(
    `SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb OR rolreplication AS privileged
       FROM pg_roles WHERE rolname = $1`,
    [dbUser],
  );
  if (rows[0]?.privileged) throw new Error(`role ${dbUser} has privileges a tenant role must not have`);
  if (!rows[0]) await client.query(`CREATE ROLE ${ident(dbUser)} NOLOGIN INHERIT`);

  const mapped = await client.query<{ tenant_id: string }>(
    'SELECT tenant_id FROM spectra_rls.tenant_roles WHERE role_name = $1',
    [dbUser],
  );
  const current = mapped.rows[0]?.tenant_id;
  if (current !== undefined && current !== tenantId) {
    throw new Error(`role ${dbUser} already belongs to tenant ${current}, not ${tenantId}`);
  }

  if (await supportsGrantOptions(client)) {
    // No SET on the group: the authenticator cannot reach spectra_tenants through the tenant role.
    await client.query(`GRANT ${ident(tenants)} TO ${ident(dbUser)} WITH INHERIT TRUE, SET FALSE`);
    await client.query(`GRANT ${ident(dbUser)} TO ${ident(authenticator)} WITH INHERIT FALSE, SET TRUE`);
  } else {
    await client.query(`GRANT ${ident(tenants)} TO ${ident(dbUser)}`);
    await client.query(`GRANT ${ident(dbUser)} TO ${ident(authenticator)}`);
  }
  await setTenantSearchPath(client, dbUser);
  if (current === undefined) {
    await client.query('INSERT INTO spectra_rls.tenant_roles (role_name, tenant_id) VALUES ($1, $2)', [
      dbUser,
      tenantId,
    ]);
  }
}

/** Removes a tenant role created by provisionTenantRole. Refuses roles that are not mapped to a tenant. */
/**
 * The Redshift functions first on a tenant role's own search_path, for sessions that log in as it
 * (under the authenticator's SET ROLE, the authenticator's search_path applies, set by the same
 * bootstrap migration). Skipped where the compatibility schema does not exist (a warehouse not
 * bootstrapped by us, or before the migration that creates it).
 */
export async function setTenantSearchPath(client: pg.ClientBase, dbUser: string): Promise<void> {
  const { rows } = await client.query<{ db: string }>(
    'SELECT current_database() AS db FROM pg_namespace WHERE nspname = $1',
    [REDSHIFT_COMPAT_SCHEMA],
  );
  if (!rows[0]) return;
  await client.query(
    `ALTER ROLE ${pg.escapeIdentifier(dbUser)} IN DATABASE ${pg.escapeIdentifier(rows[0].db)} SET search_path = ${TENANT_SEARCH_PATH}`,
  );
}

export async function dropTenantRole(adminClientOnWarehouseDb: pg.ClientBase, dbUser: string): Promise<void> {
  const client = adminClientOnWarehouseDb;
  validateTenantRoleName(dbUser);
  const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [dbUser]);
  const mapped = await client.query('DELETE FROM spectra_rls.tenant_roles WHERE role_name = $1', [dbUser]);
  if (!role.rowCount) return;
  if (!mapped.rowCount) throw new Error(`role ${dbUser} is not a tenant role; refusing to drop it`);
  await client.query(`DROP OWNED BY ${ident(dbUser)}`);
  await client.query(`DROP ROLE ${ident(dbUser)}`);
}

/**
 * Runs, as `dbUser`, a probe of every tenant table (every `public` table with a `tenant_id`
 * column): no visible row may belong to another tenant, and RLS must be enabled and forced.
 * Opens and rolls back its own transaction, so call it outside one. Throws on failure.
 */
export async function verifyTenantIsolation(
  adminClientOnWarehouseDb: pg.ClientBase,
  dbUser: string,
  tenantId: string,
): Promise<void> {
  const client = adminClientOnWarehouseDb;
  validateTenantId(tenantId);
  validateTenantRoleName(dbUser);
  const { rows: tables } = await client.query<{
    name: string;
    rls: boolean;
    forced: boolean;
    readable: boolean;
  }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
            has_table_privilege($1, c.oid, 'SELECT') AS readable
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      ORDER BY 1`,
    [dbUser],
  );
  const problems = tables
    .filter((t) => !t.rls || !t.forced)
    .map((t) => `${t.name}: row-level security not forced`);
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL ROLE ${ident(dbUser)}`);
    for (const table of tables.filter((t) => t.readable)) {
      const { rows } = await client.query<{ foreign: string }>(
        `SELECT count(*) FILTER (WHERE tenant_id IS DISTINCT FROM $1) AS foreign FROM ${table.name}`,
        [tenantId],
      );
      const foreign = Number(rows[0]?.foreign ?? 0);
      if (foreign > 0) problems.push(`${table.name}: ${foreign} rows of other tenants visible`);
    }
  } finally {
    await client.query('ROLLBACK');
  }
  if (problems.length > 0) {
    throw new Error(
      `tenant isolation check failed for ${dbUser} (tenant ${tenantId}): ${problems.join('; ')}`,
    );
  }
}

function validateTenantRoleName(dbUser: string): void {
  if (!ROLE_NAME_PATTERN.test(dbUser) || RESERVED_ROLE_PREFIXES.some((p) => dbUser.startsWith(p))) {
    throw new Error(`invalid tenant role name ${JSON.stringify(dbUser)}`);
  }
}

export async function supportsGrantOptions(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ v: number }>(
    `SELECT current_setting('server_version_num')::int AS v`,
  );
  return (rows[0]?.v ?? 0) >= 160_000;
}
