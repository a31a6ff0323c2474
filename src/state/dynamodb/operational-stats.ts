/**
 * Counts for metrics at scrape time, per job kind (query jobs in the jobs table, bulk jobs in the
 * bulk-jobs table): running from the kind's lease index, queued per flagged tenant (the queue heads'
 * counter items) from its state index. Reads only active jobs, however many finished ones exist.
 */
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { OperationalStats } from '../port.js';
import { call } from './calls.js';
import type { JobItemKind } from './job-queue.js';

/** One job kind as the metrics name it, where its items live, and the counter table with its queue flags. */
export interface CountedKind {
  name: string;
  table: string;
  counterTable: string;
  // biome-ignore lint/suspicious/noExplicitAny: only the kind's attribute and index names are read
  items: JobItemKind<any, string>;
}

export class DynamoOperationalStats implements OperationalStats {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly kinds: readonly CountedKind[],
  ) {}

  private async count(input: QueryCommandInput): Promise<number> {
    let total = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await call(() =>
        this.db.send(
          new QueryCommand({ Select: 'COUNT', ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
        ),
      );
      total += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return total;
  }

  private async flaggedTenants(kind: CountedKind): Promise<string[]> {
    const { flag, queued } = kind.items;
    const tenants: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await call(() =>
        this.db.send(
          new QueryCommand({
            TableName: kind.counterTable,
            IndexName: flag.index,
            KeyConditionExpression: `${flag.attribute} = :q`,
            ExpressionAttributeValues: { ':q': queued },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      tenants.push(...(out.Items ?? []).map((i) => i.counter_tenant as string));
      start = out.LastEvaluatedKey;
    } while (start);
    return tenants;
  }

  private async countsOf(kind: CountedKind): Promise<{ kind: string; status: string; count: number }[]> {
    const { items } = kind;
    const running = this.count({
      TableName: kind.table,
      IndexName: items.leaseIndex,
      KeyConditionExpression: '#state = :s',
      ExpressionAttributeNames: { '#state': items.stateField },
      ExpressionAttributeValues: { ':s': items.running },
    });
    const queued = (await this.flaggedTenants(kind)).map((t) =>
      this.count({
        TableName: kind.table,
        IndexName: items.stateIndex,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': items.tenantStateAttribute },
        ExpressionAttributeValues: { ':p': `${t}#${items.queued}` },
      }),
    );
    const queuedTotal = (await Promise.all(queued)).reduce((a, b) => a + b, 0);
    return [
      { kind: kind.name, status: items.queued, count: queuedTotal },
      { kind: kind.name, status: items.running, count: await running },
    ];
  }

  async activeJobCounts(): Promise<{ kind: string; status: string; count: number }[]> {
    return (await Promise.all(this.kinds.map((k) => this.countsOf(k)))).flat();
  }
}
