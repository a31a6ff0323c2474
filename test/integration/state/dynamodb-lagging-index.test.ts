/**
 * The DynamoDB StateStore with indexes that lag behind writes, as DynamoDB's do (issue 14,
 * item 6): nothing written may be lost, acted on twice or left behind because an index has not
 * caught up. DynamoDB Local itself is strongly consistent on indexes;
 * test/helpers/dynamodb-lagging-index.ts hides fresh writes from index Queries until released.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyAuthenticator } from '../../../src/auth/api-key.js';
import type { ApiError } from '../../../src/domain/errors.js';
import type { QueryJob } from '../../../src/domain/query-job.js';
import { TenantService } from '../../../src/services/tenant-service.js';
import {
  createDynamoClient,
  createTables,
  DynamoStateStore,
  stateTableNames,
} from '../../../src/state/dynamodb/index.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../../helpers/dynamodb-fixture.js';
import { LaggingIndexes } from '../../helpers/dynamodb-lagging-index.js';
import { queuedQueryJob } from '../../helpers/query-job-fixture.js';

let store: DynamoStateStore;
let lag: LaggingIndexes;
let tenants: TenantService;
let auth: ApiKeyAuthenticator;
/** Runs once before the next TransactWriteItems that deletes a tenant item (a race, made deterministic). */
let beforeTenantDelete: (() => Promise<void>) | null = null;
const PEPPER = 'lagging-index-pepper';

const job = (tenantId: string): QueryJob => queuedQueryJob(tenantId, { plannedSql: 'SELECT 1' });

beforeAll(async () => {
  const clientConfig = dynamoClientConfig(await dynamoEndpoint());
  const tables = stateTableNames(uniqueTablePrefix('lagging'));
  const admin = new DynamoDBClient(clientConfig);
  await createTables(admin, tables);
  admin.destroy();
  lag = new LaggingIndexes(tables);
  const lagging = lag.wrap(createDynamoClient(clientConfig));
  const send = lagging.send.bind(lagging) as (command: unknown) => Promise<unknown>;
  const racing = async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    const items = (command.input.TransactItems ?? []) as { Delete?: { TableName: string } }[];
    const hook = beforeTenantDelete;
    if (hook && items.some((i) => i.Delete?.TableName === tables.tenants)) {
      beforeTenantDelete = null;
      await hook();
    }
    return send(command);
  };
  const client = new Proxy(lagging, {
    get: (target, prop, receiver) => (prop === 'send' ? racing : Reflect.get(target, prop, receiver)),
  });
  store = new DynamoStateStore({ tables, client });
  // Database roles are the warehouse's business, not this test's: a stand-in that succeeds.
  const roles = {
    provision: async () => ({ created: true }),
    verifyIsolation: async () => {},
    drop: async () => {},
    close: async () => {},
  };
  tenants = new TenantService({
    state: store,
    tenantRoles: roles,
    pepper: PEPPER,
    dbUserTemplate: 'lag_{tenant}',
    rotationGraceMs: 0,
  });
  auth = new ApiKeyAuthenticator(store, PEPPER, 0);
});

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected a refusal');
}

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
    lag.release();
    const heads = await store.jobQueue.heads({ perTenant: 5, maxTenants: 10 });
    expect(heads.find((h) => h.tenantId === 'lag-tenant')?.jobs.map((x) => x.jobId)).toEqual([j.jobId]);
    const claimed = await store.jobQueue.claim('lag-tenant', j.jobId, { owner: 'w1', ms: 30_000 }, 4);
    expect(claimed?.status).toBe('RUNNING');
    // A stale head read later cannot claim it a second time: the claim is conditional on the item.
    expect(await store.jobQueue.claim('lag-tenant', j.jobId, { owner: 'w2', ms: 30_000 }, 4)).toBeNull();
  });

  it('a tenant’s keys are listed as soon as they are created, before the index shows them', async () => {
    const id = `lag-${crypto.randomUUID().slice(0, 8)}`;
    const first = await tenants.create({ tenantId: id });
    const second = await tenants.createKey(id, {});
    const hiddenBefore = lag.hidden;
    expect((await tenants.listKeys(id)).map((k) => k.keyId)).toEqual([first.keyId, second.record.keyId]);
    expect(lag.hidden).toBeGreaterThan(hiddenBefore);
  });

  it('a key created just before its tenant is deleted cannot authenticate after the deletion, is gone, and a new tenant of the same id does not inherit it', async () => {
    const id = `lag-${crypto.randomUUID().slice(0, 8)}`;
    const first = await tenants.create({ tenantId: id });
    lag.release();
    const late = await tenants.createKey(id, {});
    expect((await auth.authenticate(late.apiKey)).tenantId).toBe(id);
    const hiddenBefore = lag.hidden;
    await tenants.delete(id);
    expect(lag.hidden).toBeGreaterThan(hiddenBefore);
    expect((await refusal(auth.authenticate(late.apiKey))).code).toBe('UNAUTHORIZED');
    const again = await tenants.create({ tenantId: id });
    expect((await refusal(auth.authenticate(late.apiKey))).code).toBe('UNAUTHORIZED');
    expect((await refusal(auth.authenticate(first.apiKey))).code).toBe('UNAUTHORIZED');
    expect(await store.apiKeys.get(late.record.keyId)).toBeNull();
    expect(await store.apiKeys.get(first.keyId)).toBeNull();
    lag.release();
    expect((await tenants.listKeys(id)).map((k) => k.keyId)).toEqual([again.keyId]);
  });

  it('a key created while the tenant is being deleted is removed with it, or refused', async () => {
    const id = `lag-${crypto.randomUUID().slice(0, 8)}`;
    await tenants.create({ tenantId: id });
    let racer: Awaited<ReturnType<TenantService['createKey']>> | null = null;
    // The key lands after the deletion read the tenant's keys, before it removes the tenant.
    beforeTenantDelete = async () => {
      racer = await tenants.createKey(id, {});
    };
    await tenants.delete(id);
    expect(beforeTenantDelete).toBeNull();
    expect(racer).not.toBeNull();
    expect(await store.tenants.get(id)).toBeNull();
    expect(await store.apiKeys.get(racer!.record.keyId)).toBeNull();
    await tenants.create({ tenantId: id });
    expect((await refusal(auth.authenticate(racer!.apiKey))).code).toBe('UNAUTHORIZED');
    // Once gone, the tenant takes no new key.
    await tenants.delete(id);
    expect((await refusal(store.apiKeys.create({ ...racer!.record, keyId: 'feedfacefeedface' }))).code).toBe(
      'NOT_FOUND',
    );
  });
});
