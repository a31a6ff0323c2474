/**
 * Eventually consistent global secondary indexes for tests. DynamoDB Local updates a GSI with the
 * write; DynamoDB does not (a GSI offers eventually consistent reads only), so code that reads an
 * index right after writing passes locally and fails on AWS. This wrapper around the document
 * client hides each written item from index Queries until it becomes visible: `lagMs` after the
 * write on the test's clock (`now`, default: never by itself), or at `release()`. Base-table reads
 * (GetItem, base-table Query and Scan) are untouched, so they stay strongly consistent. While
 * hidden, the older version of an updated item is not shown either: the index simply has not seen
 * the item yet, the harder case for a reader. A deleted item vanishes from the index at once (the
 * kinder case: DynamoDB may still show it a moment).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STATE_TABLES, type StateTableNames } from '../../src/state/dynamodb/index.js';

type Input = Record<string, unknown>;

export interface LagOptions {
  /** The test's clock (epoch ms); a write becomes visible to indexes at `now() + lagMs`. */
  now?: () => number;
  /** Default: unbounded (visible only after `release()`). */
  lagMs?: number;
}

export class LaggingIndexes {
  /** Item key → when indexes show it. */
  private readonly visibleAt = new Map<string, number>();
  private readonly keys = new Map<string, string[]>();
  private readonly now: () => number;
  private readonly lagMs: number;
  /** Index Queries that hid at least one item (what a test asserts the code survived). */
  hidden = 0;

  constructor(tables: StateTableNames, opts: LagOptions = {}) {
    this.now = opts.now ?? (() => 0);
    this.lagMs = opts.lagMs ?? Number.POSITIVE_INFINITY;
    for (const [table, name] of Object.entries(tables)) {
      const design: { partitionKey: string; sortKey?: string } =
        STATE_TABLES[table as keyof typeof STATE_TABLES];
      this.keys.set(name, [design.partitionKey, ...(design.sortKey ? [design.sortKey] : [])]);
    }
  }

  /** The indexes catch up with every write so far. */
  release(): void {
    this.visibleAt.clear();
  }

  /** Writes whose index entries are not visible yet. */
  get pending(): number {
    const now = this.now();
    return [...this.visibleAt.values()].filter((t) => t > now).length;
  }

  wrap(db: DynamoDBDocumentClient): DynamoDBDocumentClient {
    const send = db.send.bind(db) as (command: unknown, options?: unknown) => Promise<Input>;
    const lagging = async (command: { constructor: { name: string }; input: Input }, options?: unknown) => {
      const name = command.constructor.name;
      const input = command.input;
      // Noted before the write is sent: a concurrent index Query must not see it either.
      for (const [table, key] of this.written(name, input))
        this.visibleAt.set(this.keyOf(table, key), this.now() + this.lagMs);
      const out = await send(command, options);
      if (name === 'QueryCommand' && input.IndexName && Array.isArray(out.Items)) {
        const now = this.now();
        const items = (out.Items as Input[]).filter(
          (i) => (this.visibleAt.get(this.keyOf(input.TableName, i)) ?? 0) <= now,
        );
        if (items.length < out.Items.length) this.hidden++;
        return { ...out, Items: items, Count: items.length };
      }
      return out;
    };
    return new Proxy(db, {
      get: (target, prop, receiver) => (prop === 'send' ? lagging : Reflect.get(target, prop, receiver)),
    });
  }

  private written(name: string, input: Input): [unknown, Input][] {
    if (name === 'PutCommand') return [[input.TableName, input.Item as Input]];
    if (name === 'UpdateCommand' || name === 'DeleteCommand') return [[input.TableName, input.Key as Input]];
    if (name === 'BatchWriteCommand')
      return Object.entries(input.RequestItems as Record<string, Input[]>).flatMap(([table, reqs]) =>
        reqs.map((r) => {
          const put = r.PutRequest as Input | undefined;
          const del = r.DeleteRequest as Input | undefined;
          return [table, (put?.Item ?? del?.Key) as Input] as [unknown, Input];
        }),
      );
    if (name !== 'TransactWriteCommand') return [];
    return (input.TransactItems as Record<string, Input>[]).flatMap((t) => {
      const op = t.Put ?? t.Update ?? t.Delete;
      if (!op) return [];
      return [[op.TableName, (op.Item ?? op.Key) as Input] as [unknown, Input]];
    });
  }

  private keyOf(table: unknown, item: Input): string {
    const attrs = this.keys.get(String(table)) ?? [];
    return JSON.stringify([table, ...attrs.map((a) => item[a])]);
  }
}
