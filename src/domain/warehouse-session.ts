/**
 * A Redshift Data API session (`SessionKeepAliveSeconds` / `SessionId`): one database connection,
 * opened as one (tenant, db user), that runs one statement at a time. Reused only by the
 * (tenant, db user) that opened it; times are epoch milliseconds.
 */

export interface WarehouseSession {
  sessionId: string;
  tenantId: string;
  dbUser: string;
  /** When the session was opened (the Data API closes any session 24 h after). */
  createdAt: number;
  /** After this, the Data API may have closed the idle session. */
  expiresAt: number;
}

/** A session reserved for one statement: only the holder of `claimToken` may release it. */
export interface ClaimedSession extends WarehouseSession {
  claimToken: string;
  /** The claim lapses at this time if never released (its process died). */
  claimedUntil: number;
}

/** The Data API closes every session 24 h after it was opened, however busy. */
export const MAX_SESSION_MS = 24 * 3_600_000;

/** The expiry a session gets when released: `expiresAt`, but never past its 24 h. */
export const sessionExpiry = (session: Pick<WarehouseSession, 'createdAt'>, expiresAt: number): number =>
  Math.min(expiresAt, session.createdAt + MAX_SESSION_MS);
