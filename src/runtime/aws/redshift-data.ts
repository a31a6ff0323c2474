/**
 * The Redshift Data API warehouse from configuration: cluster or workgroup, per-tenant secrets,
 * UNLOAD through S3. The endpoint comes from AWS_ENDPOINT_URL_REDSHIFT_DATA (the local stand-in),
 * which the SDK reads itself.
 */
import type { Config } from '../../config/index.js';
import { redshiftDataTarget } from '../../config/sections/warehouse.js';
import {
  createRedshiftDataClient,
  type RedshiftAuth,
  RedshiftDataWarehouse,
  type RedshiftDataWarehouseOptions,
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
  const { target, secretArnTemplate, unloadRoleArn: unloadRole } = redshiftDataTarget(config);
  const auth: RedshiftAuth = secretArnTemplate ? { kind: 'secret', secretArnTemplate } : { kind: 'db-user' };
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
