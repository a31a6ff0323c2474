/** The operability stores of the DynamoDB StateStore against DynamoDB Local, fresh tables (operability-contract.ts). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTables, DynamoStateStore, stateTableNames } from '../../../src/state/dynamodb/index.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../../helpers/dynamodb-fixture.js';
import { operabilityStoresContract } from '../../contracts/operability-contract.js';

operabilityStoresContract('DynamoDB (Local)', async (now) => {
  const clientConfig = dynamoClientConfig(await dynamoEndpoint());
  const tables = stateTableNames(uniqueTablePrefix('operability'));
  const admin = new DynamoDBClient(clientConfig);
  await createTables(admin, tables);
  admin.destroy();
  const store = new DynamoStateStore({ tables, clientConfig, now });
  return { store, close: () => store.close() };
});
