/**
 * The DynamoDB StateStore with indexes that lag behind writes, as DynamoDB's do (issue 14,
 * item 6): nothing written may be lost or acted on twice because an index has not caught up.
 * DynamoDB Local itself is strongly consistent on indexes; test/helpers/dynamodb-lagging-index.ts
 * hides fresh writes from index Queries until told to catch up.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncFieldsUnset, type QueryJob } from '../../../src/domain/query-job.js';
import {
  createDynamoClient,
  createTables,
  DynamoStateStore,
  stateTableNames,
} from '../../../src/state/dynamodb/index.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../../helpers/dynamodb-fixture.js';
import { LaggingIndexes } from '../../helpers/dynamodb-lagging-index.js';

let store: DynamoStateStore;
let lag: LaggingIndexes;

const job = (tenantId: string): QueryJob => ({
  jobId: `job-${crypto.randomUUID().slice(0, 12)}`,
  tenantId,
  status: 'QUEUED',
  sql: 'SELECT 1',
  plannedSql: 'SELECT 1',
  async: true,
  rowLimit: 10,
  timeoutSeconds: 60,
  submittedAt: new Date().toISOString(),
  startedAt: null,
  completedAt: null,
  rowCount: null,
  truncated: null,
  executionTimeMs: null,
  error: null,
  statementRef: null,
  submittedBy: 'k',
  expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  version: 1,
  ...asyncFieldsUnset(),
});

beforeAll(async () => {
  const clientConfig = dynamoClientConfig(await dynamoEndpoint());
  const tables = stateTableNames(uniqueTablePrefix('lagging'));
  const admin = new DynamoDBClient(clientConfig);
  await createTables(admin, tables);
  admin.destroy();
  lag = new LaggingIndexes(tables);
  store = new DynamoStateStore({ tables, client: lag.wrap(createDynamoClient(clientConfig)) });
});
afterAll(async () => {
  await store?.close();
});

describe('indexes that lag behind writes', () => {
  it('a queued job the queue index has not seen yet is not lost: the tenant stays flagged, the job is claimed once seen', async () => {
    const j = job('lag-tenant');
    await store.jobs.create(j);
    const hiddenBefore = lag.hidden;
    // The worker looks right after the write: the index does not show the job yet.
    const early = await store.jobQueue.heads({ perTenant: 5, maxTenants: 10 });
    expect(early.find((h) => h.tenantId === 'lag-tenant')).toBeUndefined();
    expect(lag.hidden).toBeGreaterThan(hiddenBefore);
    lag.catchUp();
    const heads = await store.jobQueue.heads({ perTenant: 5, maxTenants: 10 });
    expect(heads.find((h) => h.tenantId === 'lag-tenant')?.jobs.map((x) => x.jobId)).toEqual([j.jobId]);
    const claimed = await store.jobQueue.claim('lag-tenant', j.jobId, { owner: 'w1', ms: 30_000 }, 4);
    expect(claimed?.status).toBe('RUNNING');
    // A stale head read later cannot claim it a second time: the claim is conditional on the item.
    expect(await store.jobQueue.claim('lag-tenant', j.jobId, { owner: 'w2', ms: 30_000 }, 4)).toBeNull();
  });
});
