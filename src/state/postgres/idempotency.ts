/** Idempotency records on PostgreSQL: one row per (tenant, key); `acquire` is one conditional upsert. */
import type pg from 'pg';
import type { IdempotencyRecord, IdempotencyStore, StoredResponse } from '../port.js';
import { iso } from './job-rows.js';

type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

function rowToRecord(r: Record<string, unknown>): IdempotencyRecord {
  return {
    tenantId: r.tenant_id as string,
    key: r.idem_key as string,
    requestHash: r.request_hash as string,
    state: r.state as IdempotencyRecord['state'],
    owner: r.owner as string,
    response: (r.response as StoredResponse | null) ?? null,
    createdAt: iso(r.created_at)!,
    expiresAt: iso(r.expires_at)!,
    lockedUntil: iso(r.locked_until)!,
  };
}

export class PostgresIdempotencyStore implements IdempotencyStore {
  constructor(private readonly q: Query) {}

  async acquire(
    rec: Pick<IdempotencyRecord, 'tenantId' | 'key' | 'requestHash' | 'owner' | 'expiresAt' | 'lockedUntil'>,
  ): Promise<{ acquired: true } | { acquired: false; record: IdempotencyRecord }> {
    // Insert, or take over a record that expired or whose holder died; a live record is left alone.
    const r = await this.q(
      `INSERT INTO idempotency_records AS i (tenant_id, idem_key, request_hash, state, owner, response, created_at, expires_at, locked_until)
       VALUES ($1, $2, $3, 'in_progress', $4, NULL, now(), $5, $6)
       ON CONFLICT (tenant_id, idem_key) DO UPDATE SET
         request_hash = EXCLUDED.request_hash, state = 'in_progress', owner = EXCLUDED.owner, response = NULL,
         created_at = now(), expires_at = EXCLUDED.expires_at, locked_until = EXCLUDED.locked_until
       WHERE i.expires_at <= now() OR (i.state = 'in_progress' AND i.locked_until <= now())
       RETURNING owner`,
      [rec.tenantId, rec.key, rec.requestHash, rec.owner, rec.expiresAt, rec.lockedUntil],
    );
    if (r.rows[0]?.owner === rec.owner) return { acquired: true };
    const existing = await this.get(rec.tenantId, rec.key);
    // Deleted (released) between the two statements: try again.
    if (!existing) return this.acquire(rec);
    return { acquired: false, record: existing };
  }

  async get(tenantId: string, key: string): Promise<IdempotencyRecord | null> {
    const r = await this.q(
      'SELECT * FROM idempotency_records WHERE tenant_id = $1 AND idem_key = $2 AND expires_at > now()',
      [tenantId, key],
    );
    return r.rows[0] ? rowToRecord(r.rows[0]) : null;
  }

  async complete(tenantId: string, key: string, owner: string, response: StoredResponse): Promise<boolean> {
    const r = await this.q(
      `UPDATE idempotency_records SET state = 'completed', response = $4
       WHERE tenant_id = $1 AND idem_key = $2 AND owner = $3 AND state = 'in_progress'`,
      [tenantId, key, owner, JSON.stringify(response)],
    );
    return r.rowCount === 1;
  }

  async release(tenantId: string, key: string, owner: string): Promise<void> {
    await this.q(
      `DELETE FROM idempotency_records WHERE tenant_id = $1 AND idem_key = $2 AND owner = $3 AND state = 'in_progress'`,
      [tenantId, key, owner],
    );
  }

  async deleteExpired(limit: number): Promise<IdempotencyRecord[]> {
    const r = await this.q(
      `DELETE FROM idempotency_records i USING (
         SELECT tenant_id, idem_key FROM idempotency_records WHERE expires_at <= now()
         ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) x
       WHERE i.tenant_id = x.tenant_id AND i.idem_key = x.idem_key
       RETURNING i.*`,
      [limit],
    );
    return r.rows.map(rowToRecord);
  }
}
