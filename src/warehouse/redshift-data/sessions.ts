/**
 * Data API sessions (`SessionKeepAliveSeconds` / `SessionId`) kept per (tenant, db user). A session
 * is one database connection that runs one statement at a time, so the store hands a session to
 * one statement at a time: `claim` takes an idle one, `release` returns it with its new expiry.
 * The claim is a compare-and-set, so a store shared by several processes (the StateStore, later)
 * keeps the same guarantee. A session is only ever handed to the (tenant, db user) that created it.
 */

export interface WarehouseSession {
  sessionId: string;
  tenantId: string;
  dbUser: string;
  /** Epoch ms when the session was created (the Data API closes any session after 24 h). */
  createdAt: number;
  /** Epoch ms after which the Data API may have closed the idle session. */
  expiresAt: number;
}

export interface SessionClaim {
  /** An idle, unexpired session now reserved for the caller; null when there is none. */
  session: WarehouseSession | null;
  /** Sessions of this (tenant, db user) believed alive, the claimed one included. */
  live: number;
}

export interface SessionStore {
  claim(tenantId: string, dbUser: string, now: number): Promise<SessionClaim>;
  /** Records a session the Data API has just created; it starts claimed by the caller. */
  add(session: WarehouseSession): Promise<void>;
  /** Makes a claimed session idle again, alive until `expiresAt`. */
  release(sessionId: string, expiresAt: number): Promise<void>;
  /** Forgets a session (closed, expired or refused by the Data API). */
  drop(sessionId: string): Promise<void>;
}

interface Entry {
  session: WarehouseSession;
  busy: boolean;
}

/** One process's sessions, in memory. Phase 2 puts the same records in the StateStore. */
export class InMemorySessionStore implements SessionStore {
  private readonly byKey = new Map<string, Entry[]>();
  private readonly byId = new Map<string, Entry>();

  async claim(tenantId: string, dbUser: string, now: number): Promise<SessionClaim> {
    const key = sessionKey(tenantId, dbUser);
    const entries = (this.byKey.get(key) ?? []).filter((e) => {
      const alive = e.session.expiresAt > now;
      if (!alive) this.byId.delete(e.session.sessionId);
      return alive;
    });
    this.byKey.set(key, entries);
    // Most recently used first: it is the least likely to have been closed.
    const idle = entries.filter((e) => !e.busy).sort((a, b) => b.session.expiresAt - a.session.expiresAt)[0];
    if (!idle) return { session: null, live: entries.length };
    idle.busy = true;
    return { session: { ...idle.session }, live: entries.length };
  }

  async add(session: WarehouseSession): Promise<void> {
    const entry = { session: { ...session }, busy: true };
    const key = sessionKey(session.tenantId, session.dbUser);
    this.byKey.set(key, [...(this.byKey.get(key) ?? []), entry]);
    this.byId.set(session.sessionId, entry);
  }

  async release(sessionId: string, expiresAt: number): Promise<void> {
    const entry = this.byId.get(sessionId);
    if (!entry) return;
    entry.session.expiresAt = Math.min(expiresAt, entry.session.createdAt + MAX_SESSION_MS);
    entry.busy = false;
  }

  async drop(sessionId: string): Promise<void> {
    const entry = this.byId.get(sessionId);
    if (!entry) return;
    this.byId.delete(sessionId);
    const key = sessionKey(entry.session.tenantId, entry.session.dbUser);
    this.byKey.set(
      key,
      (this.byKey.get(key) ?? []).filter((e) => e !== entry),
    );
  }
}

/** The Data API closes every session 24 h after it was created, however busy. */
export const MAX_SESSION_MS = 24 * 3_600_000;

const sessionKey = (tenantId: string, dbUser: string) => JSON.stringify([tenantId, dbUser]);
