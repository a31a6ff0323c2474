/**
 * What a job failure means for the next attempt: transient failures (the warehouse was unreachable,
 * a serialization failure, a deadlock, resources exhausted, a server restart) are retried with
 * exponential backoff; everything else — the statement's own errors, timeouts — fails the job at
 * once with the warehouse's message and SQLSTATE.
 */
import { ApiError } from '../domain/errors.js';
import type { JobError } from '../domain/query-job.js';

/** SQLSTATEs (or classes, as 2-character prefixes) worth another attempt. */
const TRANSIENT_SQLSTATES = ['08', '40001', '40P01', '53', '55P03', '57P01', '57P02', '57P03', '58'];

export function isTransient(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true; // Our own I/O (a full disk, a lost state connection): retry.
  if (error.code === 'WAREHOUSE_UNAVAILABLE') return true;
  if (error.code !== 'QUERY_FAILED') return false;
  if (error.details.reason === 'cancelled') return false;
  const sqlstate = error.details.sqlstate;
  return typeof sqlstate === 'string' && TRANSIENT_SQLSTATES.some((s) => sqlstate.startsWith(s));
}

/** Delay before attempt `attempt + 1`: base × 2^(attempt-1), capped, with ±20% jitter. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs = 60_000): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + Math.random() * 0.4));
}

/** The error a job records: the ApiError's code and message, the warehouse's SQLSTATE in details. */
export function jobErrorOf(error: unknown): JobError {
  if (error instanceof ApiError) {
    const details: Record<string, unknown> = {};
    for (const k of ['sqlstate', 'position', 'timeout_seconds', 'reason'] as const) {
      if (error.details[k] !== undefined) details[k] = error.details[k];
    }
    return { code: error.code, message: error.message, details };
  }
  return { code: 'INTERNAL_ERROR', message: 'internal error', details: {} };
}
