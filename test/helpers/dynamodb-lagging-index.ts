/**
 * Eventually consistent global secondary indexes for tests. DynamoDB Local updates a GSI with the
 * write; DynamoDB does not (a GSI offers eventually consistent reads only), so code that reads an
 * index right after writing passes locally and fails on AWS. This wrapper around the document
 * client hides every item written since the last `catchUp()` from Queries on an index (base-table
 * reads are untouched). The older version of an updated item is not shown meanwhile: the index
 * simply has not seen the item yet, the harder case for a reader.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STATE_TABLES, type StateTableNames } from '../../src/state/dynamodb/index.js';

type Input = Record<string, unknown>;

export class LaggingIndexes {
  private readonly unseen = new Set<string>();
  private readonly keys = new Map<string, string[]>();
  /** Index Queries that hid at least one item (what a test asserts the code survived). */
  hidden = 0;

  constructor(tables: StateTableNames) {
    for (const [table, name] of Object.entries(tables)) {
      const design: { partitionKey: string; sortKey?: string } =
        STATE_TABLES[table as keyof typeof STATE_TABLES];
      this.keys.set(name, [design.partitionKey, ...(design.sortKey ? [design.sortKey] : [])]);
    }
  }

  /** The index has caught up with every write so far. */
  catchUp(): void {
    this.unseen.clear();
  }

  wrap(db: DynamoDBDocumentClient): DynamoDBDocumentClient {
    const send = db.send.bind(db) as (command: unknown, options?: unknown) => Promise<Input>;
    const lagging = async (command: { constructor: { name: string }; input: Input }, options?: unknown) => {
      const out = await send(command, options);
      const name = command.constructor.name;
      const input = command.input;
      if (name === 'QueryCommand' && input.IndexName && Array.isArray(out.Items)) {
        const items = (out.Items as Input[]).filter((i) => !this.unseen.has(this.keyOf(input.TableName, i)));
        if (items.length < out.Items.length) this.hidden++;
        return { ...out, Items: items, Count: items.length };
      }
      for (const [table, key] of this.written(name, input)) this.unseen.add(this.keyOf(table, key));
      return out;
    };
    return new Proxy(db, {
      get: (target, prop, receiver) => (prop === 'send' ? lagging : Reflect.get(target, prop, receiver)),
    });
  }

  private written(name: string, input: Input): [unknown, Input][] {
    if (name === 'PutCommand') return [[input.TableName, input.Item as Input]];
    if (name === 'UpdateCommand' || name === 'DeleteCommand') return [[input.TableName, input.Key as Input]];
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
