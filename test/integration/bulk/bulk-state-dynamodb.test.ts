/**
 * The Bulk API's stores of the DynamoDB StateStore against DynamoDB Local (fresh tables): the same
 * port-level contract as the PostgreSQL adapter (test/contracts/bulk-state-contract.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTables, DynamoStateStore, stateTableNames } from '../../../src/state/dynamodb/index.js';
import { bulkStateContract } from '../../contracts/bulk-state-contract.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../../helpers/dynamodb-fixture.js';

bulkStateContract('DynamoStateStore', async () => {
  const clientConfig = dynamoClientConfig(await dynamoEndpoint());
  const tables = stateTableNames(uniqueTablePrefix('bulk'));
  const admin = new DynamoDBClient(clientConfig);
  await createTables(admin, tables);
  admin.destroy();
  const store = new DynamoStateStore({ tables, clientConfig });
  return { store, close: () => store.close() };
});
