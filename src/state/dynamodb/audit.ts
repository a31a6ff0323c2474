/**
 * The audit trail on DynamoDB: one item per entry in the tenant's partition, sorted by
 * `entry_key` = `<at>#<entry id>`, and in the `by-day` index (`day` = `YYYY-MM-DD`) for listings
 * across tenants. The days that hold entries are listed in the partition `#days` (tenant ids
 * never hold `#`), so a listing without `since` and the retention sweep know where to start.
 * Newest-first listings read the same keys backwards (`ScanIndexForward: false`), days newest first.
 */
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '../../domain/audit-entry.js';
import { invalidRequest } from '../../domain/errors.js';
import type { AuditFilter, AuditStore, Page, PageRequest } from '../port.js';
import { call, collect, sleep } from './calls.js';
import { STATE_TABLES } from './tables.js';

const BY_DAY = STATE_TABLES.audit.indexes[0].name;
const DAYS_PARTITION = '#days';
const BATCH = 25;

const entryKey = (e: Pick<AuditEntry, 'at' | 'entryId'>) => `${e.at}#${e.entryId}`;
const iso = (t: string) => new Date(t).toISOString();

function decodeCursor(cursor: string): string {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parts) &&
      parts.length === 2 &&
      typeof parts[0] === 'string' &&
      typeof parts[1] === 'string' &&
      parts[1].length > 0 &&
      !Number.isNaN(Date.parse(parts[0]))
    )
      return entryKey({ at: iso(parts[0]), entryId: parts[1] });
  } catch {}
  throw invalidRequest('malformed cursor', { field: 'cursor' });
}

/** PostgreSQL text cannot hold NUL; both adapters drop it so entries read back the same. */
const noNul = (s: string | null) => (s === null ? null : s.replaceAll('\0', ''));

export class DynamoAuditStore implements AuditStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < requests.length; i += BATCH) {
      let pending = requests.slice(i, i + BATCH);
      for (let attempt = 0; pending.length; attempt++) {
        const out = await call(() =>
          this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending as never } })),
        );
        pending = (out.UnprocessedItems?.[this.table] ?? []) as Record<string, unknown>[];
        if (pending.length) await sleep(Math.min(1000, 20 * 2 ** attempt));
      }
    }
  }

  async append(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const days = new Set<string>();
    const requests: Record<string, unknown>[] = entries.map((e) => {
      const day = e.at.slice(0, 10);
      days.add(day);
      const doc = { ...e, sql: noNul(e.sql), paramNames: e.paramNames.map((p) => p.replaceAll('\0', '')) };
      return { PutRequest: { Item: { tenant_id: e.tenantId, entry_key: entryKey(e), day, doc } } };
    });
    for (const day of days)
      requests.push({ PutRequest: { Item: { tenant_id: DAYS_PARTITION, entry_key: day } } });
    await this.batchWrite(requests);
  }

  private query(input: Omit<QueryCommandInput, 'TableName'>, want: number) {
    return collect(
      (start, limit) =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            ...input,
            ...(limit ? { Limit: limit } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      want,
    );
  }

  /** Sort-key condition: from `lower` (inclusive) to `until` (inclusive with a lower bound, else exclusive). */
  private range(lower: string | undefined, until: string | undefined) {
    const values: Record<string, unknown> = {};
    let condition = '';
    if (lower !== undefined && until !== undefined) {
      condition = 'entry_key BETWEEN :lo AND :hi';
      Object.assign(values, { ':lo': lower, ':hi': until });
    } else if (lower !== undefined) {
      condition = 'entry_key >= :lo';
      values[':lo'] = lower;
    } else if (until !== undefined) {
      condition = 'entry_key < :hi';
      values[':hi'] = until;
    }
    return { condition, values };
  }

  async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry>> {
    const desc = filter.order === 'desc';
    const after = page.cursor ? decodeCursor(page.cursor) : undefined;
    let lower = filter.since !== undefined ? iso(filter.since) : undefined;
    // Any key at exactly `until` is `until#…`, greater than `until`: BETWEEN … AND until excludes it.
    let upper = filter.until !== undefined ? iso(filter.until) : undefined;
    // Newest first, the cursor's key is the upper bound: BETWEEN includes it, so it is dropped below.
    let seen: string | undefined;
    if (after !== undefined && !desc) {
      // Right after the cursor's key: a longer key with it as prefix cannot exist (ids have one length).
      const afterLower = `${after}\u0001`;
      if (lower === undefined || afterLower > lower) lower = afterLower;
    } else if (after !== undefined && (upper === undefined || after < upper)) {
      upper = after;
      seen = after;
    }
    if (lower !== undefined && upper !== undefined && lower >= upper) return { items: [], nextCursor: null };
    const want = page.limit + 1 + (seen === undefined ? 0 : 1);
    const r = this.range(lower, upper);
    const found: Record<string, unknown>[] = [];
    if (filter.tenantId !== undefined) {
      found.push(
        ...(await this.query(
          {
            KeyConditionExpression: `tenant_id = :t${r.condition ? ` AND ${r.condition}` : ''}`,
            ExpressionAttributeValues: { ':t': filter.tenantId, ...r.values },
            ScanIndexForward: !desc,
          },
          want,
        )),
      );
    } else {
      const days = await this.days(lower?.slice(0, 10), upper?.slice(0, 10));
      for (const day of desc ? days.reverse() : days) {
        found.push(
          ...(await this.query(
            {
              IndexName: BY_DAY,
              KeyConditionExpression: `#day = :d${r.condition ? ` AND ${r.condition}` : ''}`,
              ExpressionAttributeNames: { '#day': 'day' },
              ExpressionAttributeValues: { ':d': day, ...r.values },
              ScanIndexForward: !desc,
            },
            want - found.length,
          )),
        );
        if (found.length >= want) break;
      }
    }
    const items = seen === undefined ? found : found.filter((i) => i.entry_key !== seen);
    const entries = items.slice(0, page.limit).map((i) => i.doc as AuditEntry);
    const last = entries.at(-1);
    return {
      items: entries,
      nextCursor:
        items.length > page.limit && last
          ? Buffer.from(JSON.stringify([last.at, last.entryId])).toString('base64url')
          : null,
    };
  }

  /** Days holding entries, oldest first, within [from, to] (inclusive, `YYYY-MM-DD`). */
  private async days(from: string | undefined, to: string | undefined): Promise<string[]> {
    const r = this.range(from, to === undefined ? undefined : `${to}\u0001`);
    const items = await this.query(
      {
        KeyConditionExpression: `tenant_id = :t${r.condition ? ` AND ${r.condition}` : ''}`,
        ExpressionAttributeValues: { ':t': DAYS_PARTITION, ...r.values },
      },
      Number.POSITIVE_INFINITY,
    );
    return items.map((i) => i.entry_key as string);
  }

  async deleteBefore(before: string, max: number): Promise<number> {
    const cutoff = iso(before);
    const cutoffDay = cutoff.slice(0, 10);
    let deleted = 0;
    for (const day of await this.days(undefined, cutoffDay)) {
      if (deleted >= max) break;
      const old = await this.query(
        {
          IndexName: BY_DAY,
          KeyConditionExpression: '#day = :d AND entry_key < :cutoff',
          ExpressionAttributeNames: { '#day': 'day' },
          ExpressionAttributeValues: { ':d': day, ':cutoff': cutoff },
          ProjectionExpression: 'tenant_id, entry_key',
        },
        max - deleted,
      );
      await this.batchWrite(
        old.map((i) => ({ DeleteRequest: { Key: { tenant_id: i.tenant_id, entry_key: i.entry_key } } })),
      );
      deleted += old.length;
      // A whole day before the cutoff's day, emptied: forget it.
      if (day < cutoffDay && deleted < max)
        await this.batchWrite([{ DeleteRequest: { Key: { tenant_id: DAYS_PARTITION, entry_key: day } } }]);
    }
    return deleted;
  }
}
