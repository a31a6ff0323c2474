/** Counts for metrics at scrape time: RUNNING from the lease index, QUEUED per tenant in the queue heads. */
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { OperationalStats } from '../port.js';
import { call } from './calls.js';
import { STATE_TABLES } from './tables.js';

const [, JOBS_BY_STATUS, JOBS_BY_LEASE, QUEUED_TENANTS] = STATE_TABLES.jobs.indexes.map((i) => i.name);

export class DynamoOperationalStats implements OperationalStats {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private async count(input: Omit<QueryCommandInput, 'TableName'>): Promise<number> {
    let total = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await call(() =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            Select: 'COUNT',
            ...input,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      total += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return total;
  }

  async activeJobCounts(): Promise<{ kind: string; status: string; count: number }[]> {
    const running = await this.count({
      IndexName: JOBS_BY_LEASE,
      KeyConditionExpression: '#status = :s',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':s': 'RUNNING' },
    });
    const tenants: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await call(() =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: QUEUED_TENANTS,
            KeyConditionExpression: 'queue_state = :q',
            ExpressionAttributeValues: { ':q': 'QUEUED' },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      tenants.push(...(out.Items ?? []).map((i) => i.counter_tenant as string));
      start = out.LastEvaluatedKey;
    } while (start);
    const queued = await Promise.all(
      tenants.map((t) =>
        this.count({
          IndexName: JOBS_BY_STATUS,
          KeyConditionExpression: 'tenant_status = :p',
          ExpressionAttributeValues: { ':p': `${t}#QUEUED` },
        }),
      ),
    );
    return [
      { kind: 'query', status: 'QUEUED', count: queued.reduce((a, b) => a + b, 0) },
      { kind: 'query', status: 'RUNNING', count: running },
    ];
  }
}
