/**
 * Typed configuration. Precedence, lowest to highest: built-in defaults (the embedded shape) →
 * `SPECTRA_*` environment variables → command-line flags. Every setting is documented in
 * docs/configuration.md; `settingsTable()` below is the source that page is checked against.
 */
import path from 'node:path';
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { parseTenantOverrides } from '../domain/rate-limit.js';

/** `{"tenant": weight}` with positive finite weights (SPECTRA_QUERY_WEIGHTS). */
function parseQueryWeights(text: string): Record<string, number> {
  if (!text.trim()) return {};
  const v: unknown = JSON.parse(text);
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error('expected a JSON object of tenant weights');
  const out: Record<string, number> = {};
  for (const [tenant, w] of Object.entries(v)) {
    if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0)
      throw new Error(`weight of ${tenant} must be a positive number`);
    out[tenant] = w;
  }
  return out;
}

// zod/mini (not the full zod, ~430 KiB minified) keeps the authorizer function small; English messages as zod's.
z.config(en());

const bool = z.pipe(
  z.union([z.boolean(), z.string()]),
  z.transform((v: boolean | string, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
    ctx.issues.push({ code: 'custom', message: `expected a boolean, got "${v}"`, input: v });
    return z.NEVER;
  }),
);
/** An integer in [min, max]. Strict: `""` is an error, not 0 (an empty SPECTRA_PORT must not mean "any port"). */
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.pipe(
    z.union([z.number(), z.string()]),
    z.transform((v: number | string, ctx) => {
      const text = String(v).trim();
      const n = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
        ctx.issues.push({
          code: 'custom',
          message: `expected an integer ${range}, got ${JSON.stringify(v)}`,
          input: v,
        });
        return z.NEVER;
      }
      return n;
    }),
  );
const splitList = (v: string[] | string) =>
  (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean);
const list = z.pipe(z.union([z.array(z.string()), z.string()]), z.transform(splitList));

interface Setting {
  env: string;
  flag?: string;
  schema: z.ZodMiniType;
  default: unknown;
  doc: string;
}

/** key → setting. The order is the order of docs/configuration.md. */
export const SETTINGS = {
  home: {
    env: 'SPECTRA_HOME',
    flag: 'home',
    schema: z.string().check(z.minLength(1)),
    default: './.spectra',
    doc: 'Folder for everything the embedded shape writes: PostgreSQL data, secrets, credentials.json, result files.',
  },
  host: {
    env: 'SPECTRA_HOST',
    flag: 'host',
    schema: z.string().check(z.minLength(1)),
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
  warehouse: {
    env: 'SPECTRA_WAREHOUSE',
    flag: 'warehouse',
    schema: z.enum(['postgres', 'redshift-data']),
    default: 'postgres',
    doc: 'Warehouse adapter: `postgres` (embedded, or SPECTRA_WAREHOUSE_URL: PostgreSQL or Redshift over the wire) or `redshift-data` (Amazon Redshift through the Data API; docs/aws.md).',
  },
  state: {
    env: 'SPECTRA_STATE',
    flag: 'state',
    schema: z.enum(['postgres', 'dynamodb']),
    default: 'postgres',
    doc: 'Control-state adapter: `postgres` (embedded, or SPECTRA_STATE_URL) or `dynamodb` (the SPECTRA_DYNAMODB_*_TABLE_NAME tables; docs/aws.md).',
  },
  storage: {
    env: 'SPECTRA_STORAGE',
    schema: z.enum(['fs', 's3']),
    default: 'fs',
    doc: 'ResultStore adapter: `fs` (SPECTRA_RESULT_DIR; download URLs signed with HMAC and served by the API) or `s3` (SPECTRA_S3_BUCKET_NAME; presigned S3 URLs; docs/aws.md).',
  },
  awsRegion: {
    env: 'SPECTRA_AWS_REGION',
    schema: z.string(),
    default: '',
    doc: "AWS region of the Data API, DynamoDB and S3 clients. Empty = the SDK's own lookup (AWS_REGION, profile). Endpoints: the SDK's AWS_ENDPOINT_URL_REDSHIFT_DATA / AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3.",
  },
  redshiftClusterId: {
    env: 'SPECTRA_REDSHIFT_CLUSTER_ID',
    schema: z.string(),
    default: '',
    doc: 'redshift-data: identifier of a provisioned cluster (exclusive with SPECTRA_REDSHIFT_WORKGROUP_NAME).',
  },
  redshiftWorkgroupName: {
    env: 'SPECTRA_REDSHIFT_WORKGROUP_NAME',
    schema: z.string(),
    default: '',
    doc: 'redshift-data: Redshift Serverless workgroup (needs per-tenant secrets: SPECTRA_REDSHIFT_SECRET_ARN or SPECTRA_REDSHIFT_TENANT_SECRET_PREFIX).',
  },
  redshiftDatabase: {
    env: 'SPECTRA_REDSHIFT_DATABASE',
    schema: z.string().check(z.minLength(1)),
    default: 'dev',
    doc: 'redshift-data: database the statements run in.',
  },
  redshiftSecretArn: {
    env: 'SPECTRA_REDSHIFT_SECRET_ARN',
    schema: z.string(),
    default: '',
    doc: 'redshift-data: Secrets Manager ARN template of each tenant’s credentials, with `{tenant}` and/or `{db_user}` (e.g. `arn:aws:secretsmanager:eu-west-1:123456789012:secret:spectra/{db_user}`). Empty = temporary credentials for the tenant’s DbUser (provisioned clusters).',
  },
  redshiftTenantSecretPrefix: {
    env: 'SPECTRA_REDSHIFT_TENANT_SECRET_PREFIX',
    schema: z.string(),
    default: '',
    doc: 'redshift-data: per-tenant secrets named `<prefix><db_user>` (e.g. `spectra/redshift/`), as the CDK stack creates them; shorthand for SPECTRA_REDSHIFT_SECRET_ARN=`<prefix>{db_user}`.',
  },
  redshiftSessionKeepAliveSeconds: {
    env: 'SPECTRA_REDSHIFT_SESSION_KEEP_ALIVE_SECONDS',
    schema: int(0, 86_400),
    default: 3600,
    doc: 'redshift-data: idle seconds a Data API session is kept for reuse by the same tenant and db user; 0 = no session reuse.',
  },
  redshiftMaxSessionsPerUser: {
    env: 'SPECTRA_REDSHIFT_MAX_SESSIONS_PER_USER',
    schema: int(1, 500),
    default: 4,
    doc: 'redshift-data: sessions kept per (tenant, db user), counted across every process sharing the state store; concurrent statements beyond it run without a session.',
  },
  redshiftResultFormat: {
    env: 'SPECTRA_REDSHIFT_RESULT_FORMAT',
    schema: z.enum(['csv', 'json']),
    default: 'csv',
    doc: 'redshift-data: `csv` (GetStatementResultV2) or `json` (typed GetStatementResult; BIGINT beyond 2^53 loses precision there).',
  },
  redshiftS3RoleArn: {
    env: 'SPECTRA_REDSHIFT_S3_ROLE_ARN',
    schema: z.string(),
    default: '',
    doc: 'redshift-data: IAM role Redshift assumes to UNLOAD bulk CSV exports into SPECTRA_S3_BUCKET_NAME (staging under `<SPECTRA_S3_PREFIX><tenant>/`, deleted after the export; docs/aws.md). Empty = bulk exports page through the Data API (100 MB per statement).',
  },
  redshiftUnloadMaxFileSizeMb: {
    env: 'SPECTRA_REDSHIFT_UNLOAD_MAX_FILE_SIZE_MB',
    schema: int(5, 6200),
    default: 6200,
    doc: 'redshift-data: MAXFILESIZE of each UNLOAD part, in MB (Redshift accepts 5 to 6200).',
  },
  dynamodbTableName: {
    env: 'SPECTRA_DYNAMODB_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-jobs',
    doc: 'dynamodb: the jobs table (tables and indexes: docs/aws.md, infra/lib/table-design.ts).',
  },
  dynamodbBulkTableName: {
    env: 'SPECTRA_DYNAMODB_BULK_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-bulk-jobs',
    doc: 'dynamodb: the bulk jobs table (the Bulk API; its RUNNING jobs count in the jobs table).',
  },
  dynamodbTenantsTableName: {
    env: 'SPECTRA_DYNAMODB_TENANTS_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-tenants',
    doc: 'dynamodb: the tenants table.',
  },
  dynamodbApiKeysTableName: {
    env: 'SPECTRA_DYNAMODB_API_KEYS_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-api-keys',
    doc: 'dynamodb: the API keys table (hashes only).',
  },
  dynamodbIdempotencyTableName: {
    env: 'SPECTRA_DYNAMODB_IDEMPOTENCY_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-idempotency',
    doc: 'dynamodb: the idempotency records table.',
  },
  dynamodbAuditTableName: {
    env: 'SPECTRA_DYNAMODB_AUDIT_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-audit',
    doc: 'dynamodb: the audit trail table.',
  },
  dynamodbRateLimitsTableName: {
    env: 'SPECTRA_DYNAMODB_RATE_LIMITS_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-rate-limits',
    doc: 'dynamodb: the shared rate-limit buckets table.',
  },
  dynamodbSessionsTableName: {
    env: 'SPECTRA_DYNAMODB_SESSIONS_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-sessions',
    doc: 'dynamodb: the Redshift Data API sessions table (shared session reuse; TTL on expires_at).',
  },
  s3BucketName: {
    env: 'SPECTRA_S3_BUCKET_NAME',
    schema: z.string(),
    default: '',
    doc: 's3: the bucket of result files (required with SPECTRA_STORAGE=s3; `spectra aws init` creates it).',
  },
  s3Prefix: {
    env: 'SPECTRA_S3_PREFIX',
    schema: z.string().check(
      z.regex(
        /^(?:[A-Za-z0-9._-]+\/)*$/,
        'empty, or `/`-separated segments ending with `/` (e.g. `results/`)',
      ),
      z.refine((v) => !/(?:^|\/)\.{1,2}\//.test(v), 'no `.` or `..` segments'),
    ),
    default: 'results/',
    doc: 's3: key prefix of query job result files (and Redshift UNLOAD/COPY staging); objects are `<prefix><tenant>/<job>/<file>`.',
  },
  s3BulkPrefix: {
    env: 'SPECTRA_S3_BULK_PREFIX',
    schema: z.string().check(
      z.regex(/^(?:[A-Za-z0-9._-]+\/)*$/, 'empty, or `/`-separated segments ending with `/` (e.g. `bulk/`)'),
      z.refine((v) => !/(?:^|\/)\.{1,2}\//.test(v), 'no `.` or `..` segments'),
    ),
    default: 'bulk/',
    doc: 's3: key prefix of bulk job files (exports, failed records), kept `SPECTRA_BULK_JOB_TTL_DAYS`; the CDK stack expires it after as many days.',
  },
  s3UploadsPrefix: {
    env: 'SPECTRA_S3_UPLOADS_PREFIX',
    schema: z.string().check(
      z.regex(
        /^(?:[A-Za-z0-9._-]+\/)*$/,
        'empty, or `/`-separated segments ending with `/` (e.g. `uploads/`)',
      ),
      z.refine((v) => !/(?:^|\/)\.{1,2}\//.test(v), 'no `.` or `..` segments'),
    ),
    default: 'uploads/',
    doc: 's3: key prefix of bulk import uploads, kept with their bulk job.',
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
  sqlDialect: {
    env: 'SPECTRA_SQL_DIALECT',
    schema: z.enum(['', 'redshift', 'postgres']),
    default: '',
    doc: 'Which SQL the guard holds tenants to (docs/sql-dialect.md): `redshift` refuses PostgreSQL-only constructs with 400 UNSUPPORTED_ON_REDSHIFT; `postgres` runs them with a warning in `metadata.warnings`. Empty = `redshift` for the `redshift-data` warehouse, `postgres` otherwise (the Data API warehouse is always strict).',
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
  sqlPlannerThreads: {
    env: 'SPECTRA_SQL_PLANNER_THREADS',
    schema: int(0, 16),
    default: 1,
    doc: 'Worker threads that plan large SQL statements off the event loop (started on first use). 0 = plan every statement on the main thread.',
  },
  sqlPlannerOffloadChars: {
    env: 'SPECTRA_SQL_PLANNER_OFFLOAD_CHARS',
    schema: int(0),
    default: 4096,
    doc: 'Statements of at least this many characters are planned in a worker thread; shorter ones (about 3 ms or less) on the main thread.',
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
    schema: z.string().check(z.minLength(1)),
    default: 'tenant_id',
    doc: 'Claim naming the tenant.',
  },
  jwtDbUserClaim: {
    env: 'SPECTRA_JWT_DB_USER_CLAIM',
    schema: z.string().check(z.minLength(1)),
    default: 'db_user',
    doc: "Optional claim naming the database user; honoured only if it is the tenant's registered db_user.",
  },
  jwtPermissionsClaim: {
    env: 'SPECTRA_JWT_PERMISSIONS_CLAIM',
    schema: z.string().check(z.minLength(1)),
    default: 'permissions',
    doc: "Claim with the permissions (array or space-separated); absent = the tenant's default permissions.",
  },
  jwtSubjectClaim: {
    env: 'SPECTRA_JWT_SUBJECT_CLAIM',
    schema: z.string().check(z.minLength(1)),
    default: 'sub',
    doc: 'Claim identifying the caller in audit records.',
  },
  jwtJwksCooldownMs: {
    env: 'SPECTRA_JWT_JWKS_COOLDOWN_MS',
    schema: int(0),
    default: 30_000,
    doc: 'Minimum time between JWKS refetches caused by an unknown `kid`.',
  },
  corsOrigins: {
    env: 'SPECTRA_CORS_ORIGINS',
    schema: z.pipe(
      z.union([z.array(z.string()), z.string()]),
      z.transform((v: string[] | string, ctx) => {
        let origins: unknown = v;
        // The Python original's JSON list form (`["*"]`) is accepted beside the comma-separated one.
        if (typeof v === 'string' && v.trim().startsWith('[')) {
          try {
            origins = JSON.parse(v);
          } catch {
            origins = null;
          }
        } else if (typeof v === 'string') origins = v.split(',');
        if (!Array.isArray(origins) || origins.some((o) => typeof o !== 'string')) {
          ctx.issues.push({
            code: 'custom',
            message: 'expected origins separated by commas, or a JSON list of strings',
            input: v,
          });
          return z.NEVER;
        }
        const list = (origins as string[]).map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean);
        const bad = list.find((o) => o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o));
        if (bad) {
          ctx.issues.push({
            code: 'custom',
            message: `"${bad}" is not an origin (scheme://host[:port]) or *`,
            input: v,
          });
          return z.NEVER;
        }
        return list;
      }),
    ),
    default: '',
    doc: 'Browser origins allowed to call the API (CORS), comma-separated (`https://app.example.com,http://localhost:3000`) or `*` for any; a JSON list (`["*"]`) is read too. Preflights from these origins are answered before authentication; credentials mode is never enabled. Empty = no CORS headers. On AWS the CDK stack sets it for API Gateway and the API function.',
  },
  trustedHeaderSecret: {
    env: 'SPECTRA_TRUSTED_HEADER_SECRET',
    schema: z.string(),
    default: '',
    doc: 'Internal deployments only: enables trusted-header auth (`X-Tenant-ID`, `X-DB-User`) for requests carrying this secret (≥ 32 characters). Empty = off.',
  },
  trustedHeaderSecretHeader: {
    env: 'SPECTRA_TRUSTED_HEADER_SECRET_HEADER',
    schema: z.string().check(z.minLength(1)),
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
    schema: z.string().check(z.includes('{tenant}')),
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
    doc: 'On SIGINT/SIGTERM/SIGHUP, how long in-flight requests may finish before they are cancelled.',
  },
  worker: {
    env: 'SPECTRA_WORKER',
    flag: 'worker',
    schema: bool,
    default: true,
    doc: '`spectra serve` also runs an async-job worker in the same process (`--no-worker` for API-only processes; run `spectra worker` beside them).',
  },
  workerConcurrency: {
    env: 'SPECTRA_WORKER_CONCURRENCY',
    flag: 'worker-concurrency',
    schema: int(1, 256),
    default: 4,
    doc: 'Async jobs one worker process runs at once (the global per-process cap).',
  },
  workerPollIntervalMs: {
    env: 'SPECTRA_WORKER_POLL_INTERVAL_MS',
    schema: int(10),
    default: 1000,
    doc: 'Workers are woken by LISTEN/NOTIFY; this is the fallback scan period of the job queue.',
  },
  tenantMaxRunningJobs: {
    env: 'SPECTRA_TENANT_MAX_RUNNING_JOBS',
    schema: int(1),
    default: 5,
    doc: 'RUNNING async jobs per tenant across all workers; the rest wait QUEUED.',
  },
  tenantMaxRunningJobsOverrides: {
    env: 'SPECTRA_TENANT_MAX_RUNNING_JOBS_OVERRIDES',
    schema: z.pipe(
      list,
      z.transform((items: string[], ctx) => {
        const out: Record<string, number> = {};
        for (const item of items) {
          const m = /^([a-z][a-z0-9-]{0,62})=(\d{1,6})$/.exec(item);
          if (!m || Number(m[2]) < 1) {
            ctx.issues.push({
              code: 'custom',
              message: `expected tenant=count (count ≥ 1), got "${item}"`,
              input: items,
            });
            return z.NEVER;
          }
          out[m[1]!] = Number(m[2]);
        }
        return out;
      }),
    ),
    default: [],
    doc: 'Per-tenant exceptions to SPECTRA_TENANT_MAX_RUNNING_JOBS, comma-separated `tenant=count` (e.g. `acme=10,globex=2`).',
  },
  jobLeaseSeconds: {
    env: 'SPECTRA_JOB_LEASE_SECONDS',
    schema: int(1, 3600),
    default: 30,
    doc: 'A RUNNING job’s lease; its worker renews it (at least every second). A job whose lease expires (its worker died) is re-queued.',
  },
  jobMaxAttempts: {
    env: 'SPECTRA_JOB_MAX_ATTEMPTS',
    schema: int(1, 100),
    default: 3,
    doc: 'Times a job may be started (lost workers and transient warehouse errors count) before it is FAILED.',
  },
  jobRetryBaseMs: {
    env: 'SPECTRA_JOB_RETRY_BASE_MS',
    schema: int(0),
    default: 1000,
    doc: 'Backoff before retrying a job after a transient warehouse error; doubles with each attempt (±20% jitter, max 60 s).',
  },
  jobDefaultTimeoutSeconds: {
    env: 'SPECTRA_JOB_DEFAULT_TIMEOUT_SECONDS',
    schema: int(1),
    default: 900,
    doc: 'Statement timeout of an async job whose request gives no `timeout_seconds`.',
  },
  jobMaxTimeoutSeconds: {
    env: 'SPECTRA_JOB_MAX_TIMEOUT_SECONDS',
    schema: int(1),
    default: 3600,
    doc: 'Largest `timeout_seconds` an async job may ask for.',
  },
  jobTtlDays: {
    env: 'SPECTRA_JOB_TTL_DAYS',
    schema: int(1),
    default: 7,
    doc: 'Days a job record (sync or async) is kept; expired jobs are hidden at once and deleted by the sweeper.',
  },
  resultTtlHours: {
    env: 'SPECTRA_RESULT_TTL_HOURS',
    schema: int(1),
    default: 24,
    doc: 'Hours an async job’s result files are kept after it completes.',
  },
  retentionSweepIntervalSeconds: {
    env: 'SPECTRA_RETENTION_SWEEP_INTERVAL_SECONDS',
    schema: int(1),
    default: 600,
    doc: 'How often workers delete expired jobs, result files and idempotency records.',
  },
  resultSizeThreshold: {
    env: 'SPECTRA_RESULT_SIZE_THRESHOLD',
    schema: int(1),
    default: 10_000,
    doc: '`GET /v1/jobs/{id}/results` without `cursor`/`limit` answers results with more rows than this with a download URL instead of a page.',
  },
  presignedUrlExpiry: {
    env: 'SPECTRA_PRESIGNED_URL_EXPIRY',
    schema: int(1, 7 * 86_400),
    default: 3600,
    doc: 'Seconds a download URL stays valid.',
  },
  bulkJobTtlDays: {
    env: 'SPECTRA_BULK_JOB_TTL_DAYS',
    schema: int(1),
    default: 30,
    doc: 'Days a bulk job record and its files (upload, export, failed results) are kept.',
  },
  bulkMaxFileSizeMb: {
    env: 'SPECTRA_BULK_MAX_FILE_SIZE_MB',
    schema: int(1, 1_000_000),
    default: 150,
    doc: 'Largest bulk import upload, in MB as sent (compressed or not); a larger PUT is refused with 413.',
  },
  bulkJobTimeoutHours: {
    env: 'SPECTRA_BULK_JOB_TIMEOUT_HOURS',
    // Node timers hold at most 2^31 − 1 ms (~24.8 days); the watchdog of a statement is one.
    schema: int(1, 168),
    default: 24,
    doc: 'Statement timeout of a bulk export or import in the warehouse (at most 168).',
  },
  bulkGzipLevel: {
    env: 'SPECTRA_BULK_GZIP_LEVEL',
    schema: int(1, 9),
    default: 6,
    doc: 'gzip level of GZIP bulk exports (1 fastest … 9 smallest).',
  },
  bulkParquetRowGroupRows: {
    env: 'SPECTRA_BULK_PARQUET_ROW_GROUP_ROWS',
    schema: int(1000, 10_000_000),
    default: 100_000,
    doc: 'Rows per Parquet row group of a bulk export or an async job’s Parquet download; a row group is the unit held in memory while writing.',
  },
  resultDir: {
    env: 'SPECTRA_RESULT_DIR',
    flag: 'result-dir',
    schema: z.string(),
    default: '',
    doc: 'Folder of result files (the filesystem ResultStore). Empty = SPECTRA_HOME/results. API and worker processes of a cluster must share it.',
  },
  urlSigningKey: {
    env: 'SPECTRA_URL_SIGNING_KEY',
    schema: z.string().check(z.refine((v) => v === '' || v.length >= 32, 'at least 32 characters')),
    default: '',
    doc: 'HMAC key of download URLs (≥ 32 characters). Empty = generated once into SPECTRA_HOME/secrets.json. Must be the same for every process of a cluster.',
  },
  publicUrl: {
    env: 'SPECTRA_PUBLIC_URL',
    schema: z.string(),
    default: '',
    doc: 'Origin clients reach the API at (e.g. behind a proxy), for download URLs. Empty = the origin of the request.',
  },
  idempotencyTtlHours: {
    env: 'SPECTRA_IDEMPOTENCY_TTL_HOURS',
    schema: int(1),
    default: 24,
    doc: 'Hours an idempotency key is remembered with its response.',
  },
  idempotencyWaitSeconds: {
    env: 'SPECTRA_IDEMPOTENCY_WAIT_SECONDS',
    schema: int(0, 300),
    default: 30,
    doc: 'How long a duplicate request waits for the first one (same key, still running) before it gets 409 CONFLICT.',
  },
  shutdownDelaySeconds: {
    env: 'SPECTRA_SHUTDOWN_DELAY_SECONDS',
    schema: int(0, 300),
    default: 0,
    doc: 'On SIGINT/SIGTERM/SIGHUP, how long to keep serving with /ready answering 503 before refusing new connections (lets a load balancer drain this instance).',
  },
  catalogCacheSeconds: {
    env: 'SPECTRA_CATALOG_CACHE_SECONDS',
    schema: int(0, 3600),
    default: 30,
    doc: 'How long GET /v1/catalog/tables reuses a tenant’s list of readable tables before reading the warehouse catalog again (a new table or grant shows up within this time). 0 = read it on every request.',
  },
  rateLimitPerMinute: {
    env: 'SPECTRA_RATE_LIMIT_PER_MINUTE',
    schema: int(0),
    default: 100,
    doc: "Requests per minute per tenant for POST /v1/queries; the other classes scale from it (job reads and admin 3×, bulk reads 1×, bulk creates 0.1×). Bursts up to a full minute's worth. 0 = no rate limits.",
  },
  rateLimitStore: {
    env: 'SPECTRA_RATE_LIMIT_STORE',
    schema: z.enum(['auto', 'local', 'state']),
    default: 'auto',
    doc: 'Where the rate-limit buckets live: `local` = this process (exact for one API process), `state` = the control-state database, shared by all API processes (one round trip per request, batched per tenant under load). `auto` = `state` when SPECTRA_STATE_URL is set or SPECTRA_STATE=dynamodb, else `local`.',
  },
  rateLimitTenants: {
    env: 'SPECTRA_RATE_LIMIT_TENANTS',
    schema: z.pipe(
      z.string(),
      z.transform((v: string, ctx) => {
        try {
          return parseTenantOverrides(v);
        } catch (e) {
          ctx.issues.push({ code: 'custom', message: (e as Error).message, input: v });
          return z.NEVER;
        }
      }),
    ),
    default: '',
    doc: 'Per-tenant overrides, a JSON object: `{"acme": 1000}` scales every class like SPECTRA_RATE_LIMIT_PER_MINUTE; `{"bi": {"queries": 600, "job_reads": 0}}` sets classes (0 = unlimited).',
  },
  maxConcurrentQueries: {
    env: 'SPECTRA_MAX_CONCURRENT_QUERIES',
    schema: int(0),
    default: 0,
    doc: 'Optional hard cap on the synchronous queries one tenant may run at once in this process, even when slots are free; more wait, then get 429. 0 = none: tenants share the slots fairly (SPECTRA_QUERY_WEIGHTS) and a tenant alone may use them all.',
  },
  maxConcurrentQueriesTotal: {
    env: 'SPECTRA_MAX_CONCURRENT_QUERIES_TOTAL',
    schema: int(0),
    default: 0,
    doc: 'Synchronous queries all tenants may run at once in this process (the slots shared fairly between tenants); more wait in the queue. 0 = the warehouse pool size.',
  },
  queryWeights: {
    env: 'SPECTRA_QUERY_WEIGHTS',
    schema: z.pipe(
      z.string(),
      z.transform((v: string, ctx) => {
        try {
          return parseQueryWeights(v);
        } catch (e) {
          ctx.issues.push({ code: 'custom', message: (e as Error).message, input: v });
          return z.NEVER;
        }
      }),
    ),
    default: '',
    doc: 'Per-tenant weights of the fair share of query slots, a JSON object such as `{"acme": 2, "bi": 0.5}` (default weight 1). Under contention each waiting tenant gets slots in proportion to its weight; a share left unused goes to the others.',
  },
  queryQueueSize: {
    env: 'SPECTRA_QUERY_QUEUE_SIZE',
    schema: int(0),
    default: 1000,
    doc: 'Synchronous queries that may wait for a slot; beyond it they are refused at once (a newcomer under its share takes the place of the newest waiter of the tenant furthest over its share).',
  },
  queryQueueWaitMs: {
    env: 'SPECTRA_QUERY_QUEUE_WAIT_MS',
    schema: int(0),
    default: 30000,
    doc: 'Longest wait for a query slot before 503 WAREHOUSE_UNAVAILABLE (or 429 for a tenant over its share while others wait), with Retry-After.',
  },
  maxResultBytes: {
    env: 'SPECTRA_MAX_RESULT_BYTES',
    schema: int(0),
    default: 64 * 1024 * 1024,
    doc: 'Cap on a synchronous result (JSON envelope, NDJSON, CSV), counted as rows arrive from the warehouse: reading stops there, the rows before it are returned and `truncated` is true. 0 = only the row limit.',
  },
  maxRowBytes: {
    env: 'SPECTRA_MAX_ROW_BYTES',
    schema: int(1024),
    default: 16 * 1024 * 1024,
    doc: 'Largest result row (or bulk-export CSV line) the server reads; a larger one fails its query with 413 RESULT_TOO_LARGE before it is read, and its statement is cancelled.',
  },
  resultMemoryBytes: {
    env: 'SPECTRA_RESULT_MEMORY_BYTES',
    schema: int(0),
    default: 0,
    doc: 'Result bytes all running queries, jobs and exports of this process may hold in memory at once; a query that would pass it waits (SPECTRA_RESULT_MEMORY_WAIT_MS), then gets 503 with Retry-After. 0 = a quarter of the V8 heap limit.',
  },
  resultMemoryWaitMs: {
    env: 'SPECTRA_RESULT_MEMORY_WAIT_MS',
    schema: int(0),
    default: 5000,
    doc: 'Longest wait for result memory (SPECTRA_RESULT_MEMORY_BYTES) before 503 WAREHOUSE_UNAVAILABLE.',
  },
  audit: {
    env: 'SPECTRA_AUDIT',
    schema: bool,
    default: true,
    doc: 'Record an audit entry for every authenticated /v1 request (GET /v1/admin/audit, `spectra audit`).',
  },
  auditRetentionDays: {
    env: 'SPECTRA_AUDIT_RETENTION_DAYS',
    schema: int(1),
    default: 90,
    doc: 'Audit entries older than this are deleted (hourly sweep).',
  },
  auditBufferSize: {
    env: 'SPECTRA_AUDIT_BUFFER_SIZE',
    schema: int(1),
    default: 10_000,
    doc: 'Audit entries held in memory while waiting to be written; see SPECTRA_AUDIT_ON_OVERFLOW.',
  },
  auditFlushMs: {
    env: 'SPECTRA_AUDIT_FLUSH_MS',
    schema: int(10),
    default: 1000,
    doc: 'Longest time an audit entry waits in memory before its batch is written.',
  },
  auditOnOverflow: {
    env: 'SPECTRA_AUDIT_ON_OVERFLOW',
    schema: z.enum(['drop', 'reject']),
    default: 'drop',
    doc: 'When the audit buffer is full (the state store is down or too slow): `drop` new entries (counted and logged) or `reject` requests with 503 until there is room.',
  },
  metrics: {
    env: 'SPECTRA_METRICS',
    schema: bool,
    default: true,
    doc: 'Collect Prometheus metrics and serve GET /metrics (admin credential).',
  },
  metricsPort: {
    env: 'SPECTRA_METRICS_PORT',
    flag: 'metrics-port',
    schema: z.pipe(
      z.union([z.number(), z.string()]),
      z.transform((v: number | string, ctx) => {
        if (v === '') return null;
        const n = Number(v);
        if (Number.isInteger(n) && n >= 0 && n <= 65535) return n;
        ctx.issues.push({
          code: 'custom',
          message: 'expected a port (0 = any free port) or empty',
          input: v,
        });
        return z.NEVER;
      }),
    ),
    default: '',
    doc: 'Also serve GET /metrics without credentials on this port (SPECTRA_METRICS_HOST). Empty = off.',
  },
  metricsHost: {
    env: 'SPECTRA_METRICS_HOST',
    schema: z.string().check(z.minLength(1)),
    default: '127.0.0.1',
    doc: 'Address of the unauthenticated metrics listener. Keep it on loopback or a private interface.',
  },
  metricsTenants: {
    env: 'SPECTRA_METRICS_TENANTS',
    schema: list,
    default: [],
    doc: 'Tenants that get their own `tenant` label in spectra_tenant_requests_total; all others count as `_other` (bounded cardinality).',
  },
  accessLog: {
    env: 'SPECTRA_ACCESS_LOG',
    schema: bool,
    default: true,
    doc: 'One JSON log line per request at info level (request id, tenant, route, status, duration, bytes, job id).',
  },
  otlpEndpoint: {
    env: 'SPECTRA_OTLP_ENDPOINT',
    schema: z.string(),
    default: '',
    doc: 'OpenTelemetry collector for traces (OTLP/HTTP JSON), e.g. http://127.0.0.1:4318. Empty = spans are not exported (trace ids still propagate).',
  },
  otlpHeaders: {
    env: 'SPECTRA_OTLP_HEADERS',
    schema: z.string(),
    default: '',
    doc: 'Headers for the OTLP collector, `key=value,key2=value2` (e.g. an API key).',
  },
  traceSampleRatio: {
    env: 'SPECTRA_TRACE_SAMPLE_RATIO',
    schema: z.coerce.number().check(z.gte(0), z.lte(1)),
    default: 1,
    doc: 'Fraction of new traces recorded when exporting; requests with a `traceparent` follow its sampled flag.',
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
