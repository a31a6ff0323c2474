/**
 * Bootstrap of the embedded PostgreSQL: roles, the warehouse and control databases, the demo
 * tenant tables with row-level security, and one role per tenant. Idempotent: a marker row in
 * `spectra_meta.bootstrap` (with a schema version for later migrations) makes the second start a
 * single query. Everything that matters for isolation is done by PostgreSQL itself:
 *
 *   spectra_authenticator  LOGIN NOINHERIT, no other rights; member of each tenant role WITH SET only
 *   tenant_<id>            NOLOGIN, member of spectra_tenants (INHERIT, no SET)
 *   spectra_tenants        NOLOGIN; SELECT on the tenant tables, INSERT/UPDATE/DELETE on customers
 *   spectra_owner          NOLOGIN; owns the tenant tables and the tenant→role mapping
 *   spectra_state          LOGIN; owns the control-state database
 *   spectra_stager         NOLOGIN; TEMPORARY on the warehouse database and nothing else: bulk
 *                          imports create their staging table as it (SET granted to the
 *                          authenticator), so tenant roles never get the right to create tables
 *
 * Every tenant table has RLS enabled and forced, with a policy for spectra_tenants that compares
 * `tenant_id` with `CURRENT_TENANT_SQL` — an InitPlan, evaluated once per statement, not per row,
 * and an index condition on `(tenant_id, …)` like a literal tenant id (see docs/security.md).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import {
  dropTenantRole,
  provisionTenantRole,
  setTenantSearchPath,
  supportsGrantOptions,
  validateTenantId,
  verifyTenantIsolation,
  WAREHOUSE_ROLES,
} from '../postgres/tenant-role-sql.js';
import { loadDemoData, planDemoData, TENANT_TABLE_KEYS, TENANT_TABLES_DDL } from './demo-data.js';
import { installRedshiftCompat } from './redshift-compat.js';

export { dropTenantRole, provisionTenantRole, validateTenantId, verifyTenantIsolation, WAREHOUSE_ROLES };

export interface WarehouseBootstrap {
  warehouseDb: string;
  controlDb: string;
  authenticator: { user: string; password: string };
  stateUser: { user: string; password: string };
  /** The tenants seeded at first bootstrap, with their database roles. */
  tenants: Array<{ tenantId: string; dbUser: string }>;
  /** True when this call created the databases and seeded the demo data; false on a later start. */
  created: boolean;
}

export interface BootstrapOptions {
  /** SPECTRA_HOME; generated passwords are kept in `<home>/pg/roles.json` (mode 0600). */
  home: string;
  /** Rows in `sales`, split unevenly across tenants. Only used on the first bootstrap. */
  demoRows: number;
  tenants?: readonly string[];
  log?: (line: string) => void;
}

export interface PgAdminConnection {
  host: string;
  port: number;
  user: string;
  password: string;
}

export const DEMO_TENANTS: readonly string[] = ['acme', 'globex', 'initech'];
export const DEFAULT_DEMO_ROWS = 1_000_000;
export const WAREHOUSE_DB = 'spectra_warehouse';
export const CONTROL_DB = 'spectra_control';
/** Bump when the bootstrap changes, and add the step from the previous version to MIGRATIONS. */
export const BOOTSTRAP_SCHEMA_VERSION = 4;
/** The schema version `bootstrapWarehouse` itself creates; MIGRATIONS take it from there. */
const INITIAL_SCHEMA_VERSION = 1;

const SCRAM_ITERATIONS = 4096;
/**
 * The current tenant, evaluated once per statement as an InitPlan. `current_user` is a `name`, whose
 * collation "C" the result of `tenant_of` would inherit: the comparison would then run in "C", which
 * no index on `tenant_id` matches, and RLS would cost a full scan. The explicit collation keeps the
 * comparison in the column's, as a literal `tenant_id = 'acme'` has it.
 */
export const CURRENT_TENANT_SQL = '(SELECT spectra_rls.tenant_of(current_user::text COLLATE "default"))';
/** The policy expression of schema versions 1 and 2; migration 3 rewrites policies of this shape. */
const LEGACY_TENANT_SQL = '(SELECT spectra_rls.tenant_of(current_user))';

/** Steps from version `to - 1` to `to`, each run in its own transaction. Version 1 is the initial bootstrap. */
const MIGRATIONS: Array<{ to: number; apply(client: pg.ClientBase): Promise<void> }> = [
  {
    to: 2,
    // Bulk imports: a role that may create TEMP tables (the staging table) and do nothing else.
    async apply(client) {
      const { stager, authenticator } = WAREHOUSE_ROLES;
      await ensureRole(client, stager);
      await client.query(`
        ALTER ROLE ${ident(stager)} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        GRANT TEMPORARY ON DATABASE ${ident(WAREHOUSE_DB)} TO ${ident(stager)};`);
      if (await supportsGrantOptions(client))
        await client.query(`GRANT ${ident(stager)} TO ${ident(authenticator)} WITH INHERIT FALSE, SET TRUE`);
      else await client.query(`GRANT ${ident(stager)} TO ${ident(authenticator)}`);
    },
  },
  {
    to: 3,
    // Policies the planner can use as index conditions (see CURRENT_TENANT_SQL).
    async apply(client) {
      await upgradeLegacyTenantPolicies(client);
    },
  },
  {
    to: 4,
    // Redshift functions (redshift-compat.ts) on the tenants' search_path. A later change to them is
    // a new step that calls installRedshiftCompat again (and drops signatures that went away).
    async apply(client) {
      const { owner, tenants, authenticator } = WAREHOUSE_ROLES;
      await installRedshiftCompat(client, { owner, tenants, authenticator, database: WAREHOUSE_DB });
      const { rows } = await client.query<{ role_name: string }>(
        'SELECT role_name FROM spectra_rls.tenant_roles r JOIN pg_roles p ON p.rolname = r.role_name',
      );
      for (const { role_name } of rows) await setTenantSearchPath(client, role_name);
    },
  },
];

const ident = (name: string) => pg.escapeIdentifier(name);

/** `tenant_<id>` with hyphens as underscores. Ids longer than 56 characters would exceed PostgreSQL's 63-byte names. */
export function tenantRoleName(tenantId: string): string {
  validateTenantId(tenantId);
  const role = `tenant_${tenantId.replaceAll('-', '_')}`;
  if (role.length > 63)
    throw new Error(`tenant id ${JSON.stringify(tenantId)} is too long for a role name (max 56)`);
  return role;
}

export async function bootstrapEmbedded(
  pgAdmin: PgAdminConnection,
  opts: BootstrapOptions,
): Promise<WarehouseBootstrap> {
  const log = opts.log ?? (() => {});
  const tenants = [...(opts.tenants ?? DEMO_TENANTS)];
  if (new Set(tenants).size !== tenants.length) {
    throw new Error(`duplicate tenant ids: ${tenants.join(', ')}`);
  }
  if (!Number.isSafeInteger(opts.demoRows) || opts.demoRows < 0) {
    throw new Error(`demoRows must be a non-negative integer, got ${opts.demoRows}`);
  }
  const tenantRoles = tenants.map((tenantId) => ({ tenantId, dbUser: tenantRoleName(tenantId) }));
  const secrets = await loadOrCreateRoleSecrets(opts.home);
  const result = (created: boolean, seeded = tenantRoles): WarehouseBootstrap => ({
    warehouseDb: WAREHOUSE_DB,
    controlDb: CONTROL_DB,
    authenticator: secrets.authenticator,
    stateUser: secrets.stateUser,
    tenants: seeded,
    created,
  });

  const existing = await connectIfExists(pgAdmin, WAREHOUSE_DB);
  if (existing) {
    try {
      const marker = await readMarker(existing);
      if (marker) {
        if (marker.schemaVersion > BOOTSTRAP_SCHEMA_VERSION) {
          throw new Error(
            `the embedded warehouse was bootstrapped by a newer version (schema ${marker.schemaVersion}, ` +
              `this build knows ${BOOTSTRAP_SCHEMA_VERSION})`,
          );
        }
        await migrate(existing, marker.schemaVersion, log);
        // roles.json was lost or replaced: make the roles' passwords match the file again.
        if (secrets.generated) await setLoginPasswords(existing, secrets);
        if (marker.demoRows !== opts.demoRows || marker.tenants.join() !== tenants.join()) {
          log(
            `demo data already seeded (${marker.demoRows} sales rows for ${marker.tenants.join(', ')}); ` +
              'delete SPECTRA_HOME to reseed with other settings',
          );
        }
        const seeded = marker.tenants.map((tenantId) => ({ tenantId, dbUser: tenantRoleName(tenantId) }));
        return result(false, seeded);
      }
    } finally {
      await existing.end();
    }
  }

  const started = performance.now();
  await bootstrapCluster(pgAdmin, secrets);
  const warehouse = await connect(pgAdmin, WAREHOUSE_DB);
  try {
    await bootstrapWarehouse(warehouse, tenantRoles, opts.demoRows, log);
    await migrate(warehouse, INITIAL_SCHEMA_VERSION, log);
    log(
      `seeded the demo warehouse (${opts.demoRows} sales rows) in ${Math.round(performance.now() - started)} ms`,
    );
    // Sets hint bits and the visibility map now, so the first tenant query does not pay for them.
    await warehouse.query('VACUUM (ANALYZE) public.products, public.customers, public.sales');
    for (const { tenantId, dbUser } of tenantRoles) await verifyTenantIsolation(warehouse, dbUser, tenantId);
  } finally {
    await warehouse.end();
  }
  log(`bootstrapped the embedded warehouse in ${Math.round(performance.now() - started)} ms`);
  return result(true);
}

// ---------------------------------------------------------------------------------------------
// Cluster level: roles, databases

async function bootstrapCluster(pgAdmin: PgAdminConnection, secrets: RoleSecrets): Promise<void> {
  const admin = await connect(pgAdmin, 'postgres');
  try {
    const { owner, tenants, authenticator, state } = WAREHOUSE_ROLES;
    const limits = 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS';
    for (const role of [owner, tenants, authenticator, state]) await ensureRole(admin, role);
    await admin.query(`
      ALTER ROLE ${ident(owner)} NOLOGIN ${limits};
      ALTER ROLE ${ident(tenants)} NOLOGIN ${limits};
      ALTER ROLE ${ident(authenticator)} LOGIN NOINHERIT ${limits};
      ALTER ROLE ${ident(state)} LOGIN INHERIT ${limits};
      REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;
      REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;`);
    await setLoginPasswords(admin, secrets);

    const { rows } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname = ANY($1)',
      [[WAREHOUSE_DB, CONTROL_DB]],
    );
    const present = new Set(rows.map((r) => r.datname));
    if (!present.has(WAREHOUSE_DB))
      // FILE_COPY: on a young cluster its checkpoint is cheap, and it is ~150 ms faster than WAL_LOG.
      await admin.query(`CREATE DATABASE ${ident(WAREHOUSE_DB)} TEMPLATE template0 STRATEGY FILE_COPY`);
    if (!present.has(CONTROL_DB)) {
      await admin.query(
        `CREATE DATABASE ${ident(CONTROL_DB)} OWNER ${ident(state)} TEMPLATE template0 STRATEGY FILE_COPY`,
      );
    }
    await admin.query(`
      REVOKE ALL ON DATABASE ${ident(WAREHOUSE_DB)} FROM PUBLIC;
      GRANT CONNECT ON DATABASE ${ident(WAREHOUSE_DB)} TO ${ident(authenticator)};
      REVOKE ALL ON DATABASE ${ident(CONTROL_DB)} FROM PUBLIC;`);

    // Statement statistics for operators and tests; only where the superuser can read them.
    const preload = await admin.query<{ loaded: boolean }>(
      `SELECT 'pg_stat_statements' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) AS loaded`,
    );
    if (preload.rows[0]?.loaded) await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  } finally {
    await admin.end();
  }
}

async function ensureRole(client: pg.ClientBase, role: string): Promise<void> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (!rowCount) await client.query(`CREATE ROLE ${ident(role)} NOLOGIN`);
}

/** Passwords go over the wire as SCRAM verifiers, so no statement log or pg_stat_statements holds them. */
async function setLoginPasswords(client: pg.ClientBase, secrets: RoleSecrets): Promise<void> {
  for (const { user, password } of [secrets.authenticator, secrets.stateUser]) {
    await client.query(`ALTER ROLE ${ident(user)} PASSWORD ${pg.escapeLiteral(scramVerifier(password))}`);
  }
}

function scramVerifier(password: string): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const storedKey = createHash('sha256')
    .update(createHmac('sha256', salted).update('Client Key').digest())
    .digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

// ---------------------------------------------------------------------------------------------
// Warehouse database: mapping, policies, demo tables — one transaction, so a crash leaves nothing half-done

async function bootstrapWarehouse(
  client: pg.ClientBase,
  tenantRoles: Array<{ tenantId: string; dbUser: string }>,
  demoRows: number,
  log: (line: string) => void,
): Promise<void> {
  const { owner, tenants } = WAREHOUSE_ROLES;
  let mark = performance.now();
  const step = (what: string) => {
    log(`bootstrap: ${what} in ${Math.round(performance.now() - mark)} ms`);
    mark = performance.now();
  };
  await client.query('BEGIN');
  try {
    await client.query(`
      SET LOCAL synchronous_commit = off;
      REVOKE ALL ON SCHEMA public FROM PUBLIC;
      GRANT USAGE ON SCHEMA public TO ${ident(tenants)};
      ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
      ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(owner)} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

      CREATE SCHEMA spectra_meta;
      CREATE TABLE spectra_meta.bootstrap (
        schema_version integer     NOT NULL,
        demo_rows      bigint      NOT NULL,
        tenants        text[]      NOT NULL,
        completed_at   timestamptz NOT NULL DEFAULT now()
      );

      CREATE SCHEMA spectra_rls AUTHORIZATION ${ident(owner)};
      CREATE TABLE spectra_rls.tenant_roles (role_name text PRIMARY KEY, tenant_id text NOT NULL);
      ALTER TABLE spectra_rls.tenant_roles OWNER TO ${ident(owner)};
      -- Inside a SECURITY DEFINER function current_user is the definer: the caller passes its own name.
      CREATE FUNCTION spectra_rls.tenant_of(member text) RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS $$ SELECT tenant_id FROM spectra_rls.tenant_roles WHERE role_name = $1 $$;
      ALTER FUNCTION spectra_rls.tenant_of(text) OWNER TO ${ident(owner)};
      REVOKE ALL ON FUNCTION spectra_rls.tenant_of(text) FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION spectra_rls.tenant_of(text) TO ${ident(tenants)};
      ${TENANT_TABLES_DDL}`);

    step('schema');
    await loadDemoData(
      client,
      planDemoData(
        tenantRoles.map((t) => t.tenantId),
        demoRows,
      ),
      log,
    );
    mark = performance.now();

    for (const [table, key] of Object.entries(TENANT_TABLE_KEYS)) {
      const t = `public.${ident(table)}`;
      await client.query(`
        ALTER TABLE ${t} ADD PRIMARY KEY (tenant_id, ${ident(key)});
        ALTER TABLE ${t} OWNER TO ${ident(owner)};
        ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY;
        ALTER TABLE ${t} FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON ${t} AS PERMISSIVE FOR ALL TO ${ident(tenants)}
          USING (tenant_id = ${CURRENT_TENANT_SQL})
          WITH CHECK (tenant_id = ${CURRENT_TENANT_SQL});
        GRANT SELECT ON ${t} TO ${ident(tenants)};`);
    }
    step('primary keys and policies');
    // The writable table (bulk imports); a row written without tenant_id belongs to the writer.
    await client.query(`
      GRANT INSERT, UPDATE, DELETE ON public.customers TO ${ident(tenants)};
      ALTER TABLE public.customers ALTER COLUMN tenant_id SET DEFAULT spectra_rls.tenant_of(current_user);`);

    for (const { tenantId, dbUser } of tenantRoles) await provisionTenantRole(client, tenantId, dbUser);
    await client.query(
      'INSERT INTO spectra_meta.bootstrap (schema_version, demo_rows, tenants) VALUES ($1, $2, $3)',
      [INITIAL_SCHEMA_VERSION, demoRows, tenantRoles.map((t) => t.tenantId)],
    );
    await client.query('COMMIT');
    step('tenant roles and commit');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

interface BootstrapMarker {
  schemaVersion: number;
  demoRows: number;
  tenants: string[];
}

async function readMarker(client: pg.ClientBase): Promise<BootstrapMarker | undefined> {
  try {
    const { rows } = await client.query<{ schema_version: number; demo_rows: string; tenants: string[] }>(
      'SELECT schema_version, demo_rows, tenants FROM spectra_meta.bootstrap ORDER BY schema_version DESC LIMIT 1',
    );
    const row = rows[0];
    return row
      ? { schemaVersion: row.schema_version, demoRows: Number(row.demo_rows), tenants: row.tenants }
      : undefined;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01' || (error as { code?: string }).code === '3F000')
      return undefined;
    throw error;
  }
}

async function migrate(client: pg.ClientBase, from: number, log: (line: string) => void): Promise<void> {
  for (const step of MIGRATIONS.filter((m) => m.to > from).sort((a, b) => a.to - b.to)) {
    await client.query('BEGIN');
    try {
      await step.apply(client);
      await client.query('UPDATE spectra_meta.bootstrap SET schema_version = $1', [step.to]);
      await client.query('COMMIT');
      log(`migrated the embedded warehouse to schema version ${step.to}`);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

/**
 * Rewrites, in `public`, every USING / WITH CHECK that is exactly the legacy tenant comparison
 * (the demo tables' and those an operator created the same way). "Exactly" is judged
 * on this server's own deparse of the legacy SQL (a probe table), so a policy an operator wrote
 * differently is left alone.
 */
async function upgradeLegacyTenantPolicies(client: pg.ClientBase): Promise<void> {
  await client.query(`
    CREATE TEMP TABLE spectra_legacy_probe (tenant_id text) ON COMMIT DROP;
    CREATE POLICY probe ON pg_temp.spectra_legacy_probe USING (tenant_id = ${LEGACY_TENANT_SQL});`);
  const { rows: policies } = await client.query<{
    name: string;
    tbl: string;
    in_using: boolean;
    in_check: boolean;
  }>(
    `WITH legacy AS (
       SELECT pg_get_expr(p.polqual, p.polrelid) AS expr FROM pg_policy p
        WHERE p.polrelid = 'pg_temp.spectra_legacy_probe'::regclass)
     SELECT quote_ident(p.polname) AS name, format('%I.%I', n.nspname, c.relname) AS tbl,
            pg_get_expr(p.polqual, p.polrelid) IS NOT DISTINCT FROM legacy.expr AS in_using,
            pg_get_expr(p.polwithcheck, p.polrelid) IS NOT DISTINCT FROM legacy.expr AS in_check
       FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace,
            legacy
      WHERE n.nspname = 'public'
        AND (pg_get_expr(p.polqual, p.polrelid) = legacy.expr OR pg_get_expr(p.polwithcheck, p.polrelid) = legacy.expr)`,
  );
  const clause = `(tenant_id = ${CURRENT_TENANT_SQL})`;
  for (const p of policies) {
    const using = p.in_using ? ` USING ${clause}` : '';
    const check = p.in_check ? ` WITH CHECK ${clause}` : '';
    await client.query(`ALTER POLICY ${p.name} ON ${p.tbl}${using}${check}`);
  }
  await client.query('DROP TABLE pg_temp.spectra_legacy_probe');
}

// ---------------------------------------------------------------------------------------------
// Tenant roles

// ---------------------------------------------------------------------------------------------
// Connections and secrets

function connect(admin: PgAdminConnection, database: string): Promise<pg.Client> {
  const client = new pg.Client({ ...admin, database, application_name: 'spectra-bootstrap' });
  return client.connect().then(
    () => client,
    async (error) => {
      await client.end().catch(() => undefined);
      throw error;
    },
  );
}

async function connectIfExists(admin: PgAdminConnection, database: string): Promise<pg.Client | undefined> {
  try {
    return await connect(admin, database);
  } catch (error) {
    if ((error as { code?: string }).code === '3D000') return undefined;
    throw error;
  }
}

interface RoleSecrets {
  authenticator: { user: string; password: string };
  stateUser: { user: string; password: string };
  /** True when the passwords were generated now (first run, or roles.json lost). */
  generated: boolean;
}

async function loadOrCreateRoleSecrets(home: string): Promise<RoleSecrets> {
  const file = path.join(path.resolve(home), 'pg', 'roles.json');
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<RoleSecrets>;
    const a = parsed.authenticator;
    const s = parsed.stateUser;
    if (
      a?.user === WAREHOUSE_ROLES.authenticator &&
      a.password &&
      s?.user === WAREHOUSE_ROLES.state &&
      s.password
    ) {
      return { authenticator: a, stateUser: s, generated: false };
    }
  } catch {
    // Missing or unreadable: generate below.
  }
  const secrets = {
    authenticator: { user: WAREHOUSE_ROLES.authenticator, password: randomBytes(24).toString('base64url') },
    stateUser: { user: WAREHOUSE_ROLES.state, password: randomBytes(24).toString('base64url') },
  };
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return { ...secrets, generated: true };
}
