/**
 * Shared rate-limit buckets on PostgreSQL: one call of `spectra_rate_take` per batch of requests
 * (GCRA, domain/rate-limit.ts) on the database clock, so API processes with skewed clocks agree.
 * The bucket row is locked for the statement only; the table is unlogged (no WAL per request).
 */
import type pg from 'pg';
import {
  batchDecisions,
  emissionIntervalMs,
  RATE_WINDOW_MS,
  type RateDecision,
} from '../../domain/rate-limit.js';
import type { RateLimitStore } from '../port.js';

type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

/** Same slack as the in-process GCRA: exactly `limit` requests fit in a full bucket. */
const EPSILON_MS = 1e-6;

export class PostgresRateLimitStore implements RateLimitStore {
  /** `now` replaces the database clock (tests); without it every process shares the database's. */
  constructor(
    private readonly q: Query,
    private readonly now?: () => number,
  ) {}

  async take(key: string, limit: number, count: number): Promise<RateDecision[]> {
    const r = await this.q('SELECT * FROM spectra_rate_take($1, $2, $3, $4, $5)', [
      key,
      emissionIntervalMs(limit),
      RATE_WINDOW_MS + EPSILON_MS,
      count,
      this.now?.() ?? null,
    ]);
    const row = r.rows[0] as { now_ms: number; tat_ms: number; granted: number };
    return batchDecisions(count, row.granted, limit, row.now_ms, row.tat_ms);
  }
}
