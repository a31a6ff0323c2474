/**
 * Redshift Data API sessions on DynamoDB: the sessions table, partition `tenant_id`, sort
 * `session_key` = `<db_user>#<session id>` (several sessions per tenant and db user), flat
 * attributes, TTL `expires_at` (epoch seconds; `expires_ms` is the exact expiry reads compare).
 *
 * A claim reads the (tenant, db user)'s sessions (one strongly consistent Query), then takes the
 * best idle one with an UpdateItem on condition that it is still idle (or its claim lapsed) and
 * unexpired, stamping a fresh `claim_token`; a lost race moves on to the next candidate. Release
 * and the token check are one conditional UpdateItem. DynamoDB has no server clock: times are the
 * caller's.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type ClaimedSession, sessionExpiry, type WarehouseSession } from '../../domain/warehouse-session.js';
import type { SessionClaim, SessionClaimRequest, WarehouseSessionStore } from '../port.js';
import { call, collect, isConditionFailure } from './calls.js';

const sessionKey = (dbUser: string, sessionId: string) => `${dbUser}#${sessionId}`;
const ttlSeconds = (ms: number) => Math.ceil(ms / 1000);

function itemToSession(i: Record<string, unknown>): WarehouseSession {
  return {
    sessionId: i.session_id as string,
    tenantId: i.tenant_id as string,
    dbUser: i.db_user as string,
    createdAt: i.created_ms as number,
    expiresAt: i.expires_ms as number,
  };
}

function itemToClaimed(i: Record<string, unknown>): ClaimedSession {
  return {
    ...itemToSession(i),
    claimToken: i.claim_token as string,
    claimedUntil: i.claimed_until as number,
  };
}

export class DynamoSessionStore implements WarehouseSessionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async claim(tenantId: string, dbUser: string, request: SessionClaimRequest): Promise<SessionClaim> {
    const items = await collect(
      (start, limit) =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'tenant_id = :t AND begins_with(session_key, :prefix)',
            // The prefix of db user `a` also matches db user `a#b`: the attribute decides.
            FilterExpression: 'db_user = :u',
            ExpressionAttributeValues: { ':t': tenantId, ':prefix': `${dbUser}#`, ':u': dbUser },
            ConsistentRead: true,
            ...(limit ? { Limit: limit } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      Number.POSITIVE_INFINITY,
    );
    const alive = items.filter((i) => (i.expires_ms as number) > request.now);
    // TTL deletes late: expired records seen here are deleted now, so claims stay one small Query.
    await Promise.all(items.filter((i) => !alive.includes(i)).map((i) => this.deleteExpired(i, request.now)));
    const candidates = alive
      .filter(
        (i) =>
          (i.expires_ms as number) > request.aliveUntil &&
          (i.claim_token === undefined || (i.claimed_until as number) <= request.now),
      )
      // Most recently used first: it is the least likely to have been closed.
      .sort((a, b) => (b.expires_ms as number) - (a.expires_ms as number));
    for (const candidate of candidates) {
      try {
        const out = await call(() =>
          this.db.send(
            new UpdateCommand({
              TableName: this.table,
              Key: { tenant_id: tenantId, session_key: candidate.session_key },
              UpdateExpression: 'SET claim_token = :token, claimed_until = :hold',
              ConditionExpression:
                'expires_ms > :alive AND (attribute_not_exists(claim_token) OR claimed_until <= :now)',
              ExpressionAttributeValues: {
                ':token': randomUUID(),
                ':hold': request.holdUntil,
                ':alive': request.aliveUntil,
                ':now': request.now,
              },
              ReturnValues: 'ALL_NEW',
            }),
          ),
        );
        return { session: itemToClaimed(out.Attributes!), live: alive.length };
      } catch (e) {
        if (!isConditionFailure(e)) throw e; // another process claimed it first: try the next one
      }
    }
    return { session: null, live: alive.length };
  }

  async add(session: WarehouseSession, holdUntil: number): Promise<ClaimedSession> {
    const item = {
      tenant_id: session.tenantId,
      session_key: sessionKey(session.dbUser, session.sessionId),
      db_user: session.dbUser,
      session_id: session.sessionId,
      created_ms: session.createdAt,
      expires_ms: session.expiresAt,
      expires_at: ttlSeconds(session.expiresAt),
      claim_token: randomUUID(),
      claimed_until: holdUntil,
    };
    await call(() => this.db.send(new PutCommand({ TableName: this.table, Item: item })));
    return itemToClaimed(item);
  }

  async release(session: ClaimedSession, expiresAt: number): Promise<boolean> {
    const expiry = sessionExpiry(session, expiresAt);
    try {
      await call(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { tenant_id: session.tenantId, session_key: sessionKey(session.dbUser, session.sessionId) },
            UpdateExpression: 'SET expires_ms = :expiry, expires_at = :ttl REMOVE claim_token, claimed_until',
            ConditionExpression: 'claim_token = :token',
            ExpressionAttributeValues: {
              ':expiry': expiry,
              ':ttl': ttlSeconds(expiry),
              ':token': session.claimToken,
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

  async drop(session: WarehouseSession): Promise<void> {
    await call(() =>
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { tenant_id: session.tenantId, session_key: sessionKey(session.dbUser, session.sessionId) },
        }),
      ),
    );
  }

  private async deleteExpired(item: Record<string, unknown>, now: number): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { tenant_id: item.tenant_id, session_key: item.session_key },
          ConditionExpression: 'expires_ms <= :now',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
    } catch {
      // Released meanwhile (condition failed) or a transient error: TTL removes it eventually.
    }
  }
}
