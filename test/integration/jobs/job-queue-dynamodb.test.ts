/**
 * The job queue, retention and idempotency records of the DynamoDB StateStore against DynamoDB
 * Local (fresh tables): the same port-level contract as the PostgreSQL adapter (job-queue-contract.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTables, DynamoStateStore, stateTableNames } from '../../../src/state/dynamodb/index.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../../helpers/dynamodb-fixture.js';
import { jobQueueContract } from '../../contracts/job-queue-contract.js';

jobQueueContract('DynamoStateStore', async () => {
  const clientConfig = dynamoClientConfig(await dynamoEndpoint());
  const tables = stateTableNames(uniqueTablePrefix('queue'));
  const admin = new DynamoDBClient(clientConfig);
  await createTables(admin, tables);
  admin.destroy();
  const store = new DynamoStateStore({ tables, clientConfig });
  return { store, close: () => store.close() };
});
