/**
 * The DynamoDB tables of the StateStore: table-design.ts defines them once, for the CDK
 * stack and for this adapter: one table per entity, string keys, on-demand capacity, TTL on
 * `expires_at` (epoch seconds), streams.
 *
 *   table        key                          indexes (partition / sort)
 *   tenants      tenant_id                    by-db-user (db_user)
 *   api-keys     key_id                       by-tenant (tenant_id / created_at)
 *   jobs         job_id                       by-tenant-submitted (tenant_id / submitted_at)
 *                                             by-tenant-status (tenant_status = `<tenant>#<STATUS>` / submitted_at)
 *                                             by-status-lease (status / lease_expires_at; only leased jobs)
 *                                             by-queued-tenant (queue_state / counter_tenant; only tenant counters
 *                                               of tenants with QUEUED jobs)
 *                                             by-bulk-queued-tenant (bulk_queue_state / counter_tenant; the same
 *                                               counters, of tenants with UploadComplete bulk jobs)
 *   bulk-jobs    job_id                       by-tenant-created (tenant_id / created_at)
 *                                             by-tenant-state (tenant_state = `<tenant>#<state>` / created_at)
 *                                             by-tenant-queued (tenant_state / queued_at; only queued jobs)
 *                                             by-state-lease (state / lease_expires_at; only leased jobs)
 *   sessions     tenant_id + session_key (`<db_user>#<session id>`: Redshift Data API sessions)
 *   idempotency  tenant_id + idempotency_key
 *   audit        tenant_id + entry_key        by-day (day / entry_key)
 *   rate-limits  bucket_key
 *
 * The jobs table also holds one counter item per tenant (`job_id` = `#tenant#<id>`: RUNNING count of
 * query and bulk jobs, queue flags) that claims update in the same transaction as the job, whichever
 * table the job is in (job-queue.ts).
 *
 * Jobs are keyed by their own id (stream records stay ordered per job, not per tenant); the
 * adapter checks `tenant_id` on every read and write. Each item keeps its domain record in the
 * map attribute `doc`; keys, index keys and `expires_at` sit beside it.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { type IndexDesign, TABLES, TTL_ATTRIBUTE } from './table-design.js';

/** The CDK stack's table design is the adapter's: one definition, no copy to keep equal. */
export const STATE_TABLES = TABLES;
export { TTL_ATTRIBUTE };

export type StateTable = keyof typeof STATE_TABLES;
export type StateTableNames = Record<StateTable, string>;

/** `<prefix>-<suffix>` for every table, as the CDK stack names them. */
export function stateTableNames(prefix = 'spectra'): StateTableNames {
  const names = Object.entries(STATE_TABLES).map(([table, design]) => [table, `${prefix}-${design.suffix}`]);
  return Object.fromEntries(names) as StateTableNames;
}

/**
 * Creates the tables (as the CDK stack does, minus PITR and deletion protection) and turns on TTL.
 * Idempotent: existing tables are left as they are. Used by tests and by `spectra aws init`.
 */
export async function createTables(client: DynamoDBClient, names: StateTableNames): Promise<void> {
  for (const table of Object.keys(STATE_TABLES) as StateTable[]) {
    const design: { partitionKey: string; sortKey?: string; indexes: readonly IndexDesign[] } =
      STATE_TABLES[table];
    const tableName = names[table];
    const indexes = design.indexes;
    const attributes = new Set<string>([design.partitionKey]);
    if (design.sortKey) attributes.add(design.sortKey);
    for (const i of indexes) {
      attributes.add(i.partitionKey);
      if (i.sortKey) attributes.add(i.sortKey);
    }
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
          KeySchema: [
            { AttributeName: design.partitionKey, KeyType: 'HASH' },
            ...(design.sortKey ? [{ AttributeName: design.sortKey, KeyType: 'RANGE' as const }] : []),
          ],
          // DynamoDB refuses an empty index list.
          ...(indexes.length
            ? {
                GlobalSecondaryIndexes: indexes.map((i) => ({
                  IndexName: i.name,
                  KeySchema: [
                    { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
                    ...(i.sortKey ? [{ AttributeName: i.sortKey, KeyType: 'RANGE' as const }] : []),
                  ],
                  Projection: { ProjectionType: 'ALL' as const },
                })),
              }
            : {}),
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        }),
      );
    } catch (e) {
      if (!(e instanceof ResourceInUseException)) throw e;
    }
    await waitUntilActive(client, tableName);
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        }),
      );
    } catch (e) {
      // Already enabled: DynamoDB refuses to "change" TTL to the setting it has.
      if (!/already enabled/i.test((e as Error).message)) throw e;
    }
  }
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesReady = (d.Table?.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE');
    if (d.Table?.TableStatus === 'ACTIVE' && indexesReady) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`DynamoDB table ${tableName} did not become ACTIVE`);
}
