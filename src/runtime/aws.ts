/**
 * The AWS adapters built from configuration: the Redshift Data API warehouse and the DynamoDB
 * StateStore. Region and credentials come from the SDK's own chain unless SPECTRA_AWS_REGION is
 * set; endpoints from AWS_ENDPOINT_URL_REDSHIFT_DATA / AWS_ENDPOINT_URL_DYNAMODB (local stand-ins).
 */
import { type Config, ConfigError } from '../config/index.js';
import { DynamoStateStore } from '../state/dynamodb/index.js';
import type { StateStore } from '../state/port.js';
import {
  type RedshiftAuth,
  RedshiftDataWarehouse,
  type RedshiftTarget,
} from '../warehouse/redshift-data/index.js';

const region = (config: Config) => (config.awsRegion ? { region: config.awsRegion } : {});

export function buildRedshiftDataWarehouse(config: Config): RedshiftDataWarehouse {
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
  });
}

/** The parts of the port every process uses; DynamoDB has the first three so far (docs/aws.md, phase 2). */
const STATE_PARTS = [
  'tenants',
  'apiKeys',
  'jobs',
  'jobQueue',
  'jobRetention',
  'idempotency',
  'audit',
  'rateLimits',
  'stats',
];

export function buildDynamoStateStore(config: Config): StateStore {
  const store = new DynamoStateStore({
    tables: {
      tenants: config.dynamodbTenantsTableName,
      apiKeys: config.dynamodbApiKeysTableName,
      jobs: config.dynamodbTableName,
    },
    clientConfig: region(config),
  });
  const missing = STATE_PARTS.filter((part) => !(part in store));
  if (missing.length) {
    void store.close();
    throw new ConfigError(
      `SPECTRA_STATE=dynamodb: the DynamoDB StateStore does not implement ${missing.join(', ')} yet (issue 7, phase 2); use SPECTRA_STATE=postgres`,
    );
  }
  return store as unknown as StateStore;
}
