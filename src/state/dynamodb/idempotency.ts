/**
 * Idempotency records on DynamoDB: one item per (tenant_id, idempotency_key); `acquire` is one
 * conditional PutItem (absent, expired, or abandoned in progress), `complete` and `release` are
 * conditional on the owner. TTL on `expires_at` deletes them eventually; reads hide expired ones.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { IdempotencyRecord, IdempotencyStore, StoredResponse } from '../port.js';
import { call, collect, isConditionFailure, ttlOf, unavailable } from './calls.js';

const MAX_RACES = 10;

const docOf = (item: Record<string, unknown> | undefined) => (item ? (item.doc as IdempotencyRecord) : null);

export class DynamoIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(tenantId: string, key: string) {
    return { tenant_id: tenantId, idempotency_key: key };
  }

  async acquire(
    rec: Pick<IdempotencyRecord, 'tenantId' | 'key' | 'requestHash' | 'owner' | 'expiresAt' | 'lockedUntil'>,
  ): Promise<{ acquired: true } | { acquired: false; record: IdempotencyRecord }> {
    const now = new Date().toISOString();
    const doc: IdempotencyRecord = { ...rec, state: 'in_progress', response: null, createdAt: now };
    for (let attempt = 0; ; attempt++) {
      try {
        await call(() =>
          this.db.send(
            new PutCommand({
              TableName: this.table,
              Item: { ...this.key(rec.tenantId, rec.key), expires_at: ttlOf(rec.expiresAt), doc },
              // Take over a record that expired or whose holder died; a live one is left alone.
              ConditionExpression:
                'attribute_not_exists(tenant_id) OR doc.expiresAt <= :now OR (doc.#state = :inProgress AND doc.lockedUntil <= :now)',
              ExpressionAttributeNames: { '#state': 'state' },
              ExpressionAttributeValues: { ':now': now, ':inProgress': 'in_progress' },
            }),
          ),
        );
        return { acquired: true };
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
      }
      const existing = await this.get(rec.tenantId, rec.key);
      // Released or expired between the two calls: try again (a few times).
      if (existing) return { acquired: false, record: existing };
      if (attempt >= MAX_RACES) throw unavailable(new Error('idempotency record kept changing'));
    }
  }

  async get(tenantId: string, key: string): Promise<IdempotencyRecord | null> {
    const out = await call(() =>
      this.db.send(
        new GetCommand({ TableName: this.table, Key: this.key(tenantId, key), ConsistentRead: true }),
      ),
    );
    const rec = docOf(out.Item);
    return rec && Date.parse(rec.expiresAt) > Date.now() ? rec : null;
  }

  async complete(tenantId: string, key: string, owner: string, response: StoredResponse): Promise<boolean> {
    try {
      await call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: this.key(tenantId, key),
            UpdateExpression: 'SET doc.#state = :completed, doc.#response = :response',
            ConditionExpression: 'doc.#owner = :owner AND doc.#state = :inProgress',
            ExpressionAttributeNames: { '#state': 'state', '#response': 'response', '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':completed': 'completed',
              ':response': response,
              ':owner': owner,
              ':inProgress': 'in_progress',
            },
          }),
        ),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async release(tenantId: string, key: string, owner: string): Promise<void> {
    try {
      await call(() =>
        this.db.send(
          new DeleteCommand({
            TableName: this.table,
            Key: this.key(tenantId, key),
            ConditionExpression: 'doc.#owner = :owner AND doc.#state = :inProgress',
            ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': owner, ':inProgress': 'in_progress' },
          }),
        ),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  /** A sweeper's Scan (bounded by `limit`); TTL deletes what it does not reach. */
  async deleteExpired(limit: number): Promise<IdempotencyRecord[]> {
    const values = { ':now': new Date().toISOString() };
    const items = await collect(
      (start, lim) =>
        this.db.send(
          new ScanCommand({
            TableName: this.table,
            FilterExpression: 'doc.expiresAt <= :now',
            ExpressionAttributeValues: values,
            ...(lim ? { Limit: Math.max(lim, 100) } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      limit,
    );
    const deleted: IdempotencyRecord[] = [];
    for (const item of items) {
      const rec = docOf(item)!;
      try {
        await call(() =>
          this.db.send(
            new DeleteCommand({
              TableName: this.table,
              Key: this.key(rec.tenantId, rec.key),
              ConditionExpression: 'doc.expiresAt <= :now',
              ExpressionAttributeValues: values,
            }),
          ),
        );
        deleted.push(rec);
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
      }
    }
    return deleted;
  }
}
