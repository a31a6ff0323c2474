/**
 * The warehouse adapter: embedded or external PostgreSQL, or Amazon Redshift through the Data API
 * (its target, per-tenant credentials, sessions and UNLOAD settings, checked together by
 * `redshiftDataTarget` when that adapter is opened).
 */
import * as z from 'zod/mini';
import { type ConfigOf, int, invalid, type Setting } from '../setting.js';

export const WAREHOUSE_SETTINGS = {
  warehouse: {
    env: 'SPECTRA_WAREHOUSE',
    flag: 'warehouse',
    cli: { arg: 'NAME', help: 'warehouse adapter: postgres or redshift-data' },
    schema: z.enum(['postgres', 'redshift-data']),
    default: 'postgres',
    doc: 'Warehouse adapter: `postgres` (embedded, or SPECTRA_WAREHOUSE_URL: PostgreSQL or Redshift over the wire) or `redshift-data` (Amazon Redshift through the Data API; docs/aws.md).',
  },
  warehouseUrl: {
    env: 'SPECTRA_WAREHOUSE_URL',
    flag: 'warehouse-url',
    cli: { arg: 'URL', help: 'external warehouse instead of the embedded PostgreSQL' },
    schema: z.string(),
    default: '',
    doc: 'PostgreSQL/Redshift connection URL of the warehouse, as the non-superuser authenticator role. Empty = start the embedded PostgreSQL.',
  },
  warehouseAdminUrl: {
    env: 'SPECTRA_WAREHOUSE_ADMIN_URL',
    flag: 'warehouse-admin-url',
    cli: { arg: 'URL', help: 'connection allowed to create tenant roles (tenant provisioning)' },
    schema: z.string(),
    default: '',
    doc: 'Connection URL with the right to create tenant roles (used by tenant provisioning only). Empty in embedded mode = the embedded superuser.',
  },
  warehousePoolSize: {
    env: 'SPECTRA_WAREHOUSE_POOL_SIZE',
    flag: 'warehouse-pool-size',
    cli: { arg: 'N', help: 'warehouse connections of this process' },
    schema: int(1, 1000),
    default: 20,
    doc: 'Connections of each warehouse pool (per process). The PostgreSQL adapter keeps three, opened as needed and closed after 30 s idle: streams (cursors), sync reads with parameters (pipelined) and sync reads without (one string).',
  },
  tenantDbUserTemplate: {
    env: 'SPECTRA_TENANT_DB_USER_TEMPLATE',
    schema: z.string().check(z.includes('{tenant}')),
    default: 'tenant_{tenant}',
    doc: 'Database role of a new tenant when the request names none; `{tenant}` is the tenant id with hyphens as underscores.',
  },
  catalogCacheSeconds: {
    env: 'SPECTRA_CATALOG_CACHE_SECONDS',
    schema: int(0, 3600),
    default: 30,
    doc: 'How long GET /v1/catalog/tables reuses a tenant’s list of readable tables before reading the warehouse catalog again (a new table or grant shows up within this time). 0 = read it on every request.',
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
} satisfies Record<string, Setting>;

export type WarehouseConfig = ConfigOf<typeof WAREHOUSE_SETTINGS>;

/** One role ARN or a comma-separated chain (Redshift's role chaining). */
const IAM_ROLE_ARNS =
  /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+(,arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+)*$/;

export interface RedshiftDataTarget {
  target: { clusterIdentifier: string } | { workgroupName: string };
  /** Secrets Manager ARN template with `{tenant}`/`{db_user}`; empty = temporary DbUser credentials. */
  secretArnTemplate: string;
  /** Role Redshift assumes to UNLOAD into the bucket; empty = no UNLOAD. */
  unloadRoleArn: string;
}

/** The Data API settings checked together; the S3 bucket is the one UNLOAD writes to. */
export function redshiftDataTarget(config: WarehouseConfig & { s3BucketName: string }): RedshiftDataTarget {
  const problems: string[] = [];
  const cluster = config.redshiftClusterId.trim();
  const workgroup = config.redshiftWorkgroupName.trim();
  if (!cluster && !workgroup)
    problems.push('set SPECTRA_REDSHIFT_CLUSTER_ID or SPECTRA_REDSHIFT_WORKGROUP_NAME');
  if (cluster && workgroup)
    problems.push('SPECTRA_REDSHIFT_CLUSTER_ID and SPECTRA_REDSHIFT_WORKGROUP_NAME are exclusive: set one');
  if (config.redshiftSecretArn && config.redshiftTenantSecretPrefix)
    problems.push(
      'SPECTRA_REDSHIFT_SECRET_ARN and SPECTRA_REDSHIFT_TENANT_SECRET_PREFIX are exclusive: set one',
    );
  const template =
    config.redshiftSecretArn ||
    (config.redshiftTenantSecretPrefix ? `${config.redshiftTenantSecretPrefix}{db_user}` : '');
  if (template && !/\{(tenant|db_user)\}/.test(template)) {
    problems.push(
      'SPECTRA_REDSHIFT_SECRET_ARN must name each tenant’s secret with {tenant} or {db_user}: one shared secret would run every tenant as the same database user',
    );
  }
  if (workgroup && !template) {
    problems.push(
      'Redshift Serverless takes the database user from the IAM identity: set SPECTRA_REDSHIFT_TENANT_SECRET_PREFIX or SPECTRA_REDSHIFT_SECRET_ARN (per-tenant secrets)',
    );
  }
  const unloadRole = config.redshiftS3RoleArn.trim();
  if (unloadRole && !config.s3BucketName.trim())
    problems.push('SPECTRA_REDSHIFT_S3_ROLE_ARN (UNLOAD of bulk exports) needs SPECTRA_S3_BUCKET_NAME');
  if (unloadRole && !IAM_ROLE_ARNS.test(unloadRole))
    problems.push(
      'SPECTRA_REDSHIFT_S3_ROLE_ARN must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
    );
  if (problems.length) throw invalid(problems);
  return {
    target: cluster ? { clusterIdentifier: cluster } : { workgroupName: workgroup },
    secretArnTemplate: template,
    unloadRoleArn: unloadRole,
  };
}
