/**
 * The Redshift Data API warehouse from configuration: cluster or workgroup, per-tenant secrets,
 * UNLOAD through S3. The endpoint comes from AWS_ENDPOINT_URL_REDSHIFT_DATA (the local stand-in),
 * which the SDK reads itself.
 */
import { type Config, ConfigError } from '../../config/index.js';
import {
  createRedshiftDataClient,
  type RedshiftAuth,
  RedshiftDataWarehouse,
  type RedshiftDataWarehouseOptions,
  type RedshiftTarget,
} from '../../warehouse/redshift-data/index.js';
import { awsRegion, type CaptureAwsClient } from './clients.js';
import { s3ClientFromConfig } from './s3.js';

/**
 * `sessions`: where Data API sessions are kept for reuse — the StateStore's, so every process
 * (API, workers, Lambdas) reuses the same sessions; without it, this process's memory.
 */
export function buildRedshiftDataWarehouse(
  config: Config,
  shared: Pick<RedshiftDataWarehouseOptions, 'sessions' | 'onSessionOutcome'> = {},
  capture?: CaptureAwsClient,
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
  const client = capture ? capture(createRedshiftDataClient(awsRegion(config))) : undefined;
  const warehouse = new RedshiftDataWarehouse({
    target,
    database: config.redshiftDatabase,
    auth,
    ...(client ? { client } : { clientConfig: awsRegion(config) }),
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
            s3: s3ClientFromConfig(config, process.env, capture),
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
  if (client) {
    // A warehouse given its client leaves it open; this one is ours alone.
    const close = warehouse.close.bind(warehouse);
    warehouse.close = async () => {
      await close();
      client.destroy();
    };
  }
  return warehouse;
}

/** One role ARN or a comma-separated chain (Redshift's role chaining). */
const IAM_ROLE_ARNS =
  /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+(,arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+)*$/;
