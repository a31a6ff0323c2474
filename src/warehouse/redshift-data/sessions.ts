/**
 * Data API sessions of one process, in memory: the default when no StateStore is given (tests,
 * one-off CLI runs). Services use the StateStore's `sessions` (PostgreSQL or DynamoDB), which
 * keeps the same contract across processes (test/contracts/state-contract.ts).
 */
import { randomUUID } from 'node:crypto';
import { type ClaimedSession, sessionExpiry, type WarehouseSession } from '../../domain/warehouse-session.js';
import type { SessionClaim, SessionClaimRequest, WarehouseSessionStore } from '../../state/port.js';

interface Entry {
  session: WarehouseSession;
  claimToken: string | null;
  claimedUntil: number;
}

export class InMemorySessionStore implements WarehouseSessionStore {
  private readonly byKey = new Map<string, Map<string, Entry>>();

  async claim(tenantId: string, dbUser: string, request: SessionClaimRequest): Promise<SessionClaim> {
    const entries = this.byKey.get(sessionKey(tenantId, dbUser)) ?? new Map<string, Entry>();
    for (const [id, e] of entries) if (e.session.expiresAt <= request.now) entries.delete(id);
    // Most recently used first: it is the least likely to have been closed.
    const idle = [...entries.values()]
      .filter(
        (e) =>
          e.session.expiresAt > request.aliveUntil &&
          (e.claimToken === null || e.claimedUntil <= request.now),
      )
      .sort((a, b) => b.session.expiresAt - a.session.expiresAt)[0];
    if (!idle) return { session: null, live: entries.size };
    idle.claimToken = randomUUID();
    idle.claimedUntil = request.holdUntil;
    return { session: claimed(idle), live: entries.size };
  }

  async add(session: WarehouseSession, holdUntil: number): Promise<ClaimedSession> {
    const key = sessionKey(session.tenantId, session.dbUser);
    const entries = this.byKey.get(key) ?? new Map<string, Entry>();
    this.byKey.set(key, entries);
    const entry: Entry = { session: { ...session }, claimToken: randomUUID(), claimedUntil: holdUntil };
    entries.set(session.sessionId, entry);
    return claimed(entry);
  }

  async release(session: ClaimedSession, expiresAt: number): Promise<boolean> {
    const entry = this.byKey.get(sessionKey(session.tenantId, session.dbUser))?.get(session.sessionId);
    if (!entry || entry.claimToken !== session.claimToken) return false;
    entry.session.expiresAt = sessionExpiry(entry.session, expiresAt);
    entry.claimToken = null;
    entry.claimedUntil = 0;
    return true;
  }

  async drop(session: WarehouseSession): Promise<void> {
    this.byKey.get(sessionKey(session.tenantId, session.dbUser))?.delete(session.sessionId);
  }
}

const claimed = (e: Entry): ClaimedSession => ({
  ...e.session,
  claimToken: e.claimToken!,
  claimedUntil: e.claimedUntil,
});

const sessionKey = (tenantId: string, dbUser: string) => JSON.stringify([tenantId, dbUser]);
