/**
 * Typed configuration. Precedence, lowest to highest: built-in defaults (the embedded shape) →
 * `SPECTRA_*` environment variables → command-line flags. Every setting is documented in
 * docs/configuration.md; `settingsTable()` below is the source that page is checked against.
 */
import path from 'node:path';
import { z } from 'zod';

const bool = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  ctx.addIssue({ code: 'custom', message: `expected a boolean, got "${v}"` });
  return z.NEVER;
});
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

interface Setting {
  env: string;
  flag?: string;
  schema: z.ZodType;
  default: unknown;
  doc: string;
}

/** key → setting. The order is the order of docs/configuration.md. */
export const SETTINGS = {
  home: {
    env: 'SPECTRA_HOME',
    flag: 'home',
    schema: z.string().min(1),
    default: './.spectra',
    doc: 'Folder for everything the embedded shape writes: PostgreSQL data, secrets, credentials.json, result files.',
  },
  host: {
    env: 'SPECTRA_HOST',
    flag: 'host',
    schema: z.string().min(1),
    default: '127.0.0.1',
    doc: 'Address the HTTP server binds to. Use 0.0.0.0 to accept remote connections.',
  },
  port: {
    env: 'SPECTRA_PORT',
    flag: 'port',
    schema: int(0, 65535),
    default: 8080,
    doc: 'HTTP port; 0 picks any free port (the chosen one is printed).',
  },
  logLevel: {
    env: 'SPECTRA_LOG_LEVEL',
    flag: 'log-level',
    schema: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
    default: 'info',
    doc: 'Log level of the JSON logs written to stderr.',
  },
  warehouseUrl: {
    env: 'SPECTRA_WAREHOUSE_URL',
    flag: 'warehouse-url',
    schema: z.string(),
    default: '',
    doc: 'PostgreSQL/Redshift connection URL of the warehouse, as the non-superuser authenticator role. Empty = start the embedded PostgreSQL.',
  },
  stateUrl: {
    env: 'SPECTRA_STATE_URL',
    flag: 'state-url',
    schema: z.string(),
    default: '',
    doc: 'PostgreSQL connection URL of the control-state database. Empty = the embedded PostgreSQL.',
  },
  warehouseAdminUrl: {
    env: 'SPECTRA_WAREHOUSE_ADMIN_URL',
    flag: 'warehouse-admin-url',
    schema: z.string(),
    default: '',
    doc: 'Connection URL with the right to create tenant roles (used by tenant provisioning only). Empty in embedded mode = the embedded superuser.',
  },
  warehousePoolSize: {
    env: 'SPECTRA_WAREHOUSE_POOL_SIZE',
    flag: 'warehouse-pool-size',
    schema: int(1, 1000),
    default: 20,
    doc: 'Connections in the warehouse pool (per process).',
  },
  statePoolSize: {
    env: 'SPECTRA_STATE_POOL_SIZE',
    flag: 'state-pool-size',
    schema: int(1, 1000),
    default: 10,
    doc: 'Connections in the control-state pool (per process).',
  },
  demo: {
    env: 'SPECTRA_DEMO',
    flag: 'demo',
    schema: bool,
    default: true,
    doc: 'Embedded mode: seed the demo tenants (acme, globex, initech) and write credentials.json on first start.',
  },
  demoRows: {
    env: 'SPECTRA_DEMO_ROWS',
    flag: 'demo-rows',
    schema: int(0, 100_000_000),
    default: 1_000_000,
    doc: 'Rows of the demo `sales` table, split unevenly across the demo tenants (first start only).',
  },
  queryDefaultRows: {
    env: 'SPECTRA_QUERY_DEFAULT_ROWS',
    schema: int(1),
    default: 10_000,
    doc: 'Rows a synchronous query returns when the request gives no `limit`.',
  },
  queryMaxRows: {
    env: 'SPECTRA_QUERY_MAX_ROWS',
    schema: int(1),
    default: 10_000,
    doc: 'Largest `limit` a synchronous query may ask for; more rows set `truncated: true` (use the Bulk API).',
  },
  defaultTimeoutSeconds: {
    env: 'SPECTRA_DEFAULT_TIMEOUT_SECONDS',
    schema: int(1),
    default: 60,
    doc: 'Statement timeout when the request gives no `timeout_seconds`.',
  },
  maxTimeoutSeconds: {
    env: 'SPECTRA_MAX_TIMEOUT_SECONDS',
    schema: int(1),
    default: 300,
    doc: 'Largest `timeout_seconds` a request may ask for.',
  },
  maxBodyBytes: {
    env: 'SPECTRA_MAX_BODY_BYTES',
    schema: int(1024),
    default: 1_048_576,
    doc: 'Largest JSON request body; larger bodies get 413 PAYLOAD_TOO_LARGE.',
  },
  sqlSecurityLevel: {
    env: 'SPECTRA_SQL_SECURITY_LEVEL',
    schema: z.enum(['strict', 'standard', 'permissive']),
    default: 'standard',
    doc: 'SQL guard level (docs/security.md has the matrix).',
  },
  sqlMaxQueryLength: {
    env: 'SPECTRA_SQL_MAX_QUERY_LENGTH',
    schema: int(1),
    default: 100_000,
    doc: 'Longest SQL text accepted, in characters.',
  },
  sqlMaxJoins: {
    env: 'SPECTRA_SQL_MAX_JOINS',
    schema: int(0),
    default: 10,
    doc: 'Most joins (explicit and comma joins) in one statement.',
  },
  sqlMaxSubqueries: {
    env: 'SPECTRA_SQL_MAX_SUBQUERIES',
    schema: int(0),
    default: 5,
    doc: 'Deepest subquery nesting.',
  },
  sqlAllowFunctions: {
    env: 'SPECTRA_SQL_ALLOW_FUNCTIONS',
    schema: list,
    default: [],
    doc: "Comma-separated functions to allow in addition to the level's allowlist.",
  },
  sqlDenyFunctions: {
    env: 'SPECTRA_SQL_DENY_FUNCTIONS',
    schema: list,
    default: [],
    doc: 'Comma-separated functions to deny even if the level allows them.',
  },
  sqlAllowedSchemas: {
    env: 'SPECTRA_SQL_ALLOWED_SCHEMAS',
    schema: list,
    default: ['public'],
    doc: 'Schemas tenants may name explicitly. System schemas are always denied.',
  },
  apiKeyPepper: {
    env: 'SPECTRA_API_KEY_PEPPER',
    schema: z.string(),
    default: '',
    doc: 'Server secret for the keyed hash of API keys. Empty = generated once into SPECTRA_HOME/secrets.json. Must be the same for every process of a cluster.',
  },
  authCacheTtlMs: {
    env: 'SPECTRA_AUTH_CACHE_TTL_MS',
    schema: int(0, 60_000),
    default: 1000,
    doc: 'How long a verified API key is cached in a process; bounds how late a revocation is seen.',
  },
  jwtSecret: {
    env: 'SPECTRA_JWT_SECRET',
    schema: z.string(),
    default: '',
    doc: 'Shared secret for HS256/384/512 JWTs (at least as long as the hash output). Empty = no HS* JWTs.',
  },
  jwtPublicKey: {
    env: 'SPECTRA_JWT_PUBLIC_KEY',
    schema: z.string(),
    default: '',
    doc: 'PEM public key (SPKI) for RS256/ES256 JWTs. Exclusive with SPECTRA_JWT_JWKS_URL.',
  },
  jwtJwksUrl: {
    env: 'SPECTRA_JWT_JWKS_URL',
    schema: z.string(),
    default: '',
    doc: 'JWKS endpoint of the identity provider (https; http only on loopback). Cached, refreshed on unknown `kid`, rate-limited, fails closed.',
  },
  jwtAlgorithms: {
    env: 'SPECTRA_JWT_ALGORITHMS',
    schema: list,
    default: [],
    doc: "Accepted JWT algorithms, comma-separated. Empty = HS256 with a secret, the key's algorithm with a PEM, RS256+ES256 with JWKS.",
  },
  jwtIssuer: {
    env: 'SPECTRA_JWT_ISSUER',
    schema: list,
    default: [],
    doc: 'Required `iss` (comma-separated for several). Empty = not checked.',
  },
  jwtAudience: {
    env: 'SPECTRA_JWT_AUDIENCE',
    schema: list,
    default: [],
    doc: 'Required `aud` (comma-separated for several). Empty = tokens carrying `aud` are refused.',
  },
  jwtClockSkewSeconds: {
    env: 'SPECTRA_JWT_CLOCK_SKEW_SECONDS',
    schema: int(0, 300),
    default: 30,
    doc: 'Tolerance for `exp`/`nbf`/`iat`.',
  },
  jwtMaxLifetimeSeconds: {
    env: 'SPECTRA_JWT_MAX_LIFETIME_SECONDS',
    schema: int(0),
    default: 0,
    doc: 'Reject tokens whose `exp` is further away than this; 0 = no limit.',
  },
  jwtCacheTtlMs: {
    env: 'SPECTRA_JWT_CACHE_TTL_MS',
    schema: int(0),
    default: 300_000,
    doc: "Verified-token cache (never past the token's `exp`; tenant status re-read every second).",
  },
  jwtTenantClaim: {
    env: 'SPECTRA_JWT_TENANT_CLAIM',
    schema: z.string().min(1),
    default: 'tenant_id',
    doc: 'Claim naming the tenant.',
  },
  jwtDbUserClaim: {
    env: 'SPECTRA_JWT_DB_USER_CLAIM',
    schema: z.string().min(1),
    default: 'db_user',
    doc: "Optional claim naming the database user; honoured only if it is the tenant's registered db_user.",
  },
  jwtPermissionsClaim: {
    env: 'SPECTRA_JWT_PERMISSIONS_CLAIM',
    schema: z.string().min(1),
    default: 'permissions',
    doc: "Claim with the permissions (array or space-separated); absent = the tenant's default permissions.",
  },
  jwtSubjectClaim: {
    env: 'SPECTRA_JWT_SUBJECT_CLAIM',
    schema: z.string().min(1),
    default: 'sub',
    doc: 'Claim identifying the caller in audit records.',
  },
  jwtJwksCooldownMs: {
    env: 'SPECTRA_JWT_JWKS_COOLDOWN_MS',
    schema: int(0),
    default: 30_000,
    doc: 'Minimum time between JWKS refetches caused by an unknown `kid`.',
  },
  trustedHeaderSecret: {
    env: 'SPECTRA_TRUSTED_HEADER_SECRET',
    schema: z.string(),
    default: '',
    doc: 'Internal deployments only: enables trusted-header auth (`X-Tenant-ID`, `X-DB-User`) for requests carrying this secret (≥ 32 characters). Empty = off.',
  },
  trustedHeaderSecretHeader: {
    env: 'SPECTRA_TRUSTED_HEADER_SECRET_HEADER',
    schema: z.string().min(1),
    default: 'X-Spectra-Proxy-Secret',
    doc: 'Header that carries the trusted-header secret.',
  },
  trustedProxies: {
    env: 'SPECTRA_TRUSTED_PROXIES',
    schema: list,
    default: [],
    doc: 'Internal deployments only: proxy IPs/CIDRs allowed to use trusted-header auth. Empty = none.',
  },
  tenantDbUserTemplate: {
    env: 'SPECTRA_TENANT_DB_USER_TEMPLATE',
    schema: z.string().includes('{tenant}'),
    default: 'tenant_{tenant}',
    doc: 'Database role of a new tenant when the request names none; `{tenant}` is the tenant id with hyphens as underscores.',
  },
  apiKeyRotationGraceHours: {
    env: 'SPECTRA_API_KEY_ROTATION_GRACE_HOURS',
    schema: int(0),
    default: 24,
    doc: 'After a key rotation, how long the previous key keeps working.',
  },
  shutdownGraceSeconds: {
    env: 'SPECTRA_SHUTDOWN_GRACE_SECONDS',
    schema: int(0),
    default: 10,
    doc: 'On SIGINT/SIGTERM, how long in-flight requests may finish before they are cancelled.',
  },
} satisfies Record<string, Setting>;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: z.output<Settings[K]['schema']> };
export type Flags = Record<string, string | boolean | undefined>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: Flags = {}): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(SETTINGS) as [string, Setting][]) {
    const fromFlag = s.flag !== undefined ? flags[s.flag] : undefined;
    const raw = fromFlag ?? env[s.env] ?? s.default;
    const parsed = s.schema.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else {
      const source = fromFlag !== undefined ? `--${s.flag}` : s.env;
      problems.push(`${source}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  const config = out as Config;
  config.home = path.resolve(config.home);
  if (config.queryDefaultRows > config.queryMaxRows) config.queryDefaultRows = config.queryMaxRows;
  if (config.defaultTimeoutSeconds > config.maxTimeoutSeconds)
    config.defaultTimeoutSeconds = config.maxTimeoutSeconds;
  return config;
}

/** Rows for docs/configuration.md: env var, flag, default, meaning. */
export function settingsTable(): { env: string; flag: string | null; default: string; doc: string }[] {
  return (Object.values(SETTINGS) as Setting[]).map((s) => ({
    env: s.env,
    flag: s.flag ? `--${s.flag}` : null,
    default: Array.isArray(s.default) ? s.default.join(',') : String(s.default),
    doc: s.doc,
  }));
}
