/**
 * Every port contract against its DynamoDB adapter, on the run's DynamoDB Local: the StateStore
 * (records, job queues of every kind, bulk stores, operability stores), each on fresh tables.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTables, DynamoStateStore, stateTableNames } from '../../../src/state/dynamodb/index.js';
import { bulkStateContract } from '../../contracts/bulk-state-contract.js';
import { jobQueueContracts } from '../../contracts/job-kinds.js';
import { operabilityStoresContract } from '../../contracts/operability-contract.js';
import { type StateUnderTest, stateContract } from '../../contracts/state-contract.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../../helpers/dynamodb-fixture.js';

/** A DynamoStateStore on fresh tables named after `label`. */
async function openState(label: string, now?: () => number): Promise<StateUnderTest> {
  const clientConfig = dynamoClientConfig(await dynamoEndpoint());
  const tables = stateTableNames(uniqueTablePrefix(label));
  const admin = new DynamoDBClient(clientConfig);
  await createTables(admin, tables);
  admin.destroy();
  const store = new DynamoStateStore({ tables, clientConfig, now });
  return { store, close: () => store.close() };
}

stateContract('DynamoDB (Local)', () => openState('contract'));
jobQueueContracts('DynamoStateStore', () => openState('queue'));
bulkStateContract('DynamoStateStore', () => openState('bulk'));
operabilityStoresContract('DynamoDB (Local)', (now) => openState('operability', now));
