/**
 * The AWS adapters built from configuration: the Redshift Data API warehouse, the DynamoDB
 * StateStore and the S3 ResultStore. Region and credentials come from the SDK's own chain unless
 * SPECTRA_AWS_REGION is set; endpoints from AWS_ENDPOINT_URL_REDSHIFT_DATA / AWS_ENDPOINT_URL_DYNAMODB
 * / AWS_ENDPOINT_URL_S3 (local stand-ins), which the SDK reads itself.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { type Config, ConfigError } from '../config/index.js';
import { DynamoStateStore, type StateTableNames } from '../state/dynamodb/index.js';
import type { StateStore } from '../state/port.js';
import { createS3Client, S3ResultStore } from '../storage/s3/index.js';
import {
  type RedshiftAuth,
  RedshiftDataWarehouse,
  type RedshiftDataWarehouseOptions,
  type RedshiftTarget,
} from '../warehouse/redshift-data/index.js';

const region = (config: Config) => (config.awsRegion ? { region: config.awsRegion } : {});

/**
 * `sessions`: where Data API sessions are kept for reuse — the StateStore's, so every process
 * (API, workers, Lambdas) reuses the same sessions; without it, this process's memory.
 */
export function buildRedshiftDataWarehouse(
  config: Config,
  shared: Pick<RedshiftDataWarehouseOptions, 'sessions' | 'onSessionOutcome'> = {},
): RedshiftDataWarehouse {
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
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  const target: RedshiftTarget = cluster ? { clusterIdentifier: cluster } : { workgroupName: workgroup };
  const auth: RedshiftAuth = template ? { kind: 'secret', secretArnTemplate: template } : { kind: 'db-user' };
  return new RedshiftDataWarehouse({
    target,
    database: config.redshiftDatabase,
    auth,
    clientConfig: region(config),
    resultFormat: config.redshiftResultFormat === 'json' ? 'JSON' : 'CSV',
    sessionKeepAliveSeconds: config.redshiftSessionKeepAliveSeconds,
    maxSessionsPerUser: config.redshiftMaxSessionsPerUser,
    // Each Lambda function has its own role: its sessions and statements are its own (docs/aws.md).
    ...(process.env.AWS_LAMBDA_FUNCTION_NAME
      ? { identity: `lambda:${process.env.AWS_LAMBDA_FUNCTION_NAME}` }
      : {}),
    ...(unloadRole
      ? {
          unload: {
            s3: s3ClientFromConfig(config),
            ownsS3: true,
            bucket: config.s3BucketName.trim(),
            prefix: config.s3Prefix,
            iamRoleArn: unloadRole,
            maxFileSizeMb: config.redshiftUnloadMaxFileSizeMb,
          },
        }
      : {}),
    ...shared,
  });
}

/** One role ARN or a comma-separated chain (Redshift's role chaining). */
const IAM_ROLE_ARNS =
  /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+(,arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+)*$/;

export function buildDynamoStateStore(config: Config): StateStore {
  return new DynamoStateStore({ tables: dynamoTableNames(config), clientConfig: region(config) });
}

/** The StateStore's DynamoDB table names from configuration (what `spectra aws init` creates). */
export function dynamoTableNames(config: Config): StateTableNames {
  return {
    tenants: config.dynamodbTenantsTableName,
    apiKeys: config.dynamodbApiKeysTableName,
    jobs: config.dynamodbTableName,
    bulkJobs: config.dynamodbBulkTableName,
    idempotency: config.dynamodbIdempotencyTableName,
    audit: config.dynamodbAuditTableName,
    rateLimits: config.dynamodbRateLimitsTableName,
    sessions: config.dynamodbSessionsTableName,
  };
}

/**
 * An S3 client for the configured region and endpoint. With an endpoint override (s3rver, MinIO,
 * LocalStack) buckets are addressed by path: such servers rarely resolve `<bucket>.<host>`.
 */
export function s3ClientFromConfig(config: Config, env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpointSet = Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
  return createS3Client({ ...region(config), forcePathStyle: endpointSet });
}

export function buildS3ResultStore(config: Config): S3ResultStore {
  if (!config.s3BucketName.trim())
    throw new ConfigError('invalid configuration:\n  SPECTRA_STORAGE=s3 needs SPECTRA_S3_BUCKET_NAME');
  return new S3ResultStore({
    client: s3ClientFromConfig(config),
    bucket: config.s3BucketName.trim(),
    prefix: config.s3Prefix,
    bulkPrefix: config.s3BulkPrefix,
    uploadsPrefix: config.s3UploadsPrefix,
  });
}
