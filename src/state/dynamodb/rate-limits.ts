/**
 * Shared rate-limit buckets on DynamoDB: one item per bucket holding its GCRA theoretical arrival
 * time (`tat_ms`). A take reads the item and writes the new TAT on condition that it is unchanged
 * (optimistic, retried on a lost race), so concurrent API processes never grant more than the
 * limit. DynamoDB has no server clock: the decision uses this process's clock, so processes with
 * skewed clocks disagree by their skew (the PostgreSQL adapter uses the database clock).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  batchDecisions,
  emissionIntervalMs,
  grantable,
  RATE_WINDOW_MS,
  type RateDecision,
} from '../../domain/rate-limit.js';
import type { RateLimitStore } from '../port.js';
import { call, isConditionFailure, sleep } from './calls.js';

const MAX_RACES = 100;

export class DynamoRateLimitStore implements RateLimitStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  async take(key: string, limit: number, count: number): Promise<RateDecision[]> {
    const interval = emissionIntervalMs(limit);
    for (let race = 0; ; race++) {
      const out = await call(() =>
        this.db.send(
          new GetCommand({ TableName: this.table, Key: { bucket_key: key }, ConsistentRead: true }),
        ),
      );
      const stored = out.Item ? (out.Item.tat_ms as number) : null;
      const now = this.now();
      const granted = grantable(stored, now, limit, count);
      if (granted === 0) return batchDecisions(count, 0, limit, now, stored);
      const tat = Math.max(stored ?? now, now) + granted * interval;
      try {
        await call(() =>
          this.db.send(
            new PutCommand({
              TableName: this.table,
              // Useless once the bucket is full again: TTL removes it a minute after that.
              Item: { bucket_key: key, tat_ms: tat, expires_at: Math.ceil((tat + RATE_WINDOW_MS) / 1000) },
              ConditionExpression: stored === null ? 'attribute_not_exists(bucket_key)' : 'tat_ms = :seen',
              ...(stored === null ? {} : { ExpressionAttributeValues: { ':seen': stored } }),
            }),
          ),
        );
        return batchDecisions(count, granted, limit, now, tat);
      } catch (e) {
        if (!isConditionFailure(e) || race >= MAX_RACES) throw e;
        await sleep(Math.random() * Math.min(50, 2 * (race + 1)));
      }
    }
  }
}
