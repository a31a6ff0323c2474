/**
 * The DynamoDB StateStore from configuration (the tables `spectra aws init` and the CDK stack
 * create). The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local), which the SDK reads itself.
 */
import type { ServerConfig, StateConfig } from '../../config/index.js';
import { createDynamoClient, DynamoStateStore, type StateTableNames } from '../../state/dynamodb/index.js';
import type { StateStore } from '../../state/port.js';
import { awsRegion, type CaptureAwsClient } from './clients.js';

export function buildDynamoStateStore(
  config: StateConfig & Pick<ServerConfig, 'awsRegion'>,
  capture?: CaptureAwsClient,
): StateStore {
  const tables = dynamoTableNames(config);
  if (!capture) return new DynamoStateStore({ tables, clientConfig: awsRegion(config) });
  const client = capture(createDynamoClient(awsRegion(config)));
  const store = new DynamoStateStore({ tables, client });
  // A store given its client leaves it open; this one is ours alone.
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    client.destroy();
  };
  return store;
}

/** The StateStore's DynamoDB table names from configuration (what `spectra aws init` creates). */
export function dynamoTableNames(config: StateConfig): StateTableNames {
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
