/**
 * Redshift Data API sessions on PostgreSQL: one row per session, keyed by (tenant, db user, id).
 * A claim is one statement: the best idle unexpired row of the (tenant, db user) is locked
 * (`FOR UPDATE SKIP LOCKED`, so concurrent claimers take different rows) and stamped with the
 * caller's claim token; expired rows of that pair are deleted on the way. Times are the caller's.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { type ClaimedSession, sessionExpiry, type WarehouseSession } from '../../domain/warehouse-session.js';
import type { SessionClaim, SessionClaimRequest, WarehouseSessionStore } from '../port.js';

type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

const at = (ms: number) => new Date(ms).toISOString();
const ms = (v: unknown) => (v instanceof Date ? v.getTime() : Date.parse(String(v)));

function rowToClaimed(r: Record<string, unknown>): ClaimedSession {
  return {
    sessionId: r.session_id as string,
    tenantId: r.tenant_id as string,
    dbUser: r.db_user as string,
    createdAt: ms(r.created_at),
    expiresAt: ms(r.expires_at),
    claimToken: r.claim_token as string,
    claimedUntil: ms(r.claimed_until),
  };
}

export class PostgresSessionStore implements WarehouseSessionStore {
  constructor(private readonly q: Query) {}

  async claim(tenantId: string, dbUser: string, request: SessionClaimRequest): Promise<SessionClaim> {
    const token = randomUUID();
    const r = await this.q(
      `WITH expired AS (
         SELECT session_id FROM warehouse_sessions
         WHERE tenant_id = $1 AND db_user = $2 AND expires_at <= $3
         FOR UPDATE SKIP LOCKED),
       gone AS (
         DELETE FROM warehouse_sessions s USING expired
         WHERE s.tenant_id = $1 AND s.db_user = $2 AND s.session_id = expired.session_id),
       pick AS (
         SELECT session_id FROM warehouse_sessions
         WHERE tenant_id = $1 AND db_user = $2 AND expires_at > $4
           AND (claim_token IS NULL OR claimed_until <= $3)
         ORDER BY expires_at DESC LIMIT 1
         FOR UPDATE SKIP LOCKED),
       claimed AS (
         UPDATE warehouse_sessions s SET claim_token = $5, claimed_until = $6
         FROM pick WHERE s.tenant_id = $1 AND s.db_user = $2 AND s.session_id = pick.session_id
           AND (s.claim_token IS NULL OR s.claimed_until <= $3)
         RETURNING s.*)
       SELECT (SELECT count(*)::int FROM warehouse_sessions
               WHERE tenant_id = $1 AND db_user = $2 AND expires_at > $3) AS live,
              claimed.*
       FROM (SELECT 1) one LEFT JOIN claimed ON true`,
      [tenantId, dbUser, at(request.now), at(request.aliveUntil), token, at(request.holdUntil)],
    );
    const row = r.rows[0] as Record<string, unknown>;
    return { session: row.session_id ? rowToClaimed(row) : null, live: row.live as number };
  }

  async add(session: WarehouseSession, holdUntil: number): Promise<ClaimedSession> {
    const r = await this.q(
      `INSERT INTO warehouse_sessions (tenant_id, db_user, session_id, created_at, expires_at, claim_token, claimed_until)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant_id, db_user, session_id) DO UPDATE SET
         created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
         claim_token = EXCLUDED.claim_token, claimed_until = EXCLUDED.claimed_until
       RETURNING *`,
      [
        session.tenantId,
        session.dbUser,
        session.sessionId,
        at(session.createdAt),
        at(session.expiresAt),
        randomUUID(),
        at(holdUntil),
      ],
    );
    return rowToClaimed(r.rows[0]);
  }

  async release(session: ClaimedSession, expiresAt: number): Promise<boolean> {
    const r = await this.q(
      `UPDATE warehouse_sessions SET expires_at = $5, claim_token = NULL, claimed_until = NULL
       WHERE tenant_id = $1 AND db_user = $2 AND session_id = $3 AND claim_token = $4`,
      [
        session.tenantId,
        session.dbUser,
        session.sessionId,
        session.claimToken,
        at(sessionExpiry(session, expiresAt)),
      ],
    );
    return r.rowCount === 1;
  }

  async drop(session: WarehouseSession): Promise<void> {
    await this.q('DELETE FROM warehouse_sessions WHERE tenant_id = $1 AND db_user = $2 AND session_id = $3', [
      session.tenantId,
      session.dbUser,
      session.sessionId,
    ]);
  }
}
