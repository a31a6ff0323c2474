/**
 * Per-tenant, per-class request limits (domain/rate-limit.ts) over a bucket store: in-process for
 * a single API process, or the StateStore's shared buckets when several processes serve one
 * deployment. With shared buckets, requests of one bucket that arrive while its previous store
 * call is in flight are taken together in the next call — exact (the bucket decides how many fit)
 * and one round trip per batch instead of per request, which keeps a busy tenant's bucket row
 * from becoming a lock queue. docs/operations.md "Rate limits".
 */
import {
  batchDecisions,
  grantable,
  limitFor,
  type RateClass,
  type RateDecision,
  type RateLimits,
  scaledLimits,
  type TenantRateOverride,
} from '../domain/rate-limit.js';
import type { RateLimitStore } from '../state/port.js';

/** Requests of one bucket taken in one store call at most. */
const MAX_BATCH = 256;

/** Buckets in this process's memory. Exact for one process; N processes would allow N× the limit. */
export class LocalRateLimitStore implements RateLimitStore {
  private readonly tats = new Map<string, number>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async take(key: string, limit: number, count: number): Promise<RateDecision[]> {
    const now = this.now();
    const tat = this.tats.get(key) ?? null;
    const granted = grantable(tat, now, limit, count);
    let after = tat;
    if (granted > 0) {
      after = Math.max(tat ?? now, now) + (granted * 60_000) / limit;
      this.tats.set(key, after);
    }
    if (now - this.lastSweep > 60_000) this.sweep(now);
    return batchDecisions(count, granted, limit, now, after);
  }

  /** A bucket whose TAT has passed is full: forgetting it changes nothing. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
  }
}

interface PendingBucket {
  limit: number;
  waiters: { resolve: (d: RateDecision) => void; reject: (e: unknown) => void }[];
  inFlight: boolean;
}

export interface RateLimiterOptions {
  /** Requests per minute of the query class; the others scale from it. 0 = no limits. */
  perMinute: number;
  overrides?: Map<string, TenantRateOverride>;
  store: RateLimitStore;
}

export class RateLimiter {
  private readonly defaults: RateLimits;
  private readonly overrides: Map<string, TenantRateOverride>;
  private readonly pending = new Map<string, PendingBucket>();

  constructor(private readonly opts: RateLimiterOptions) {
    this.defaults = scaledLimits(opts.perMinute);
    this.overrides = opts.overrides ?? new Map();
  }

  /** Whether any tenant can be limited at all (false = skip the middleware). */
  get enabled(): boolean {
    if (this.opts.perMinute > 0) return true;
    for (const o of this.overrides.values()) {
      if (typeof o === 'number' ? o > 0 : Object.values(o).some((v) => v > 0)) return true;
    }
    return false;
  }

  limitFor(tenantId: string, cls: RateClass): number {
    return limitFor(this.defaults, this.overrides.get(tenantId), cls);
  }

  /** Takes one request; null when this tenant and class are unlimited. */
  async take(tenantId: string, cls: RateClass): Promise<RateDecision | null> {
    const limit = this.limitFor(tenantId, cls);
    if (limit <= 0) return null;
    const key = `${tenantId}:${cls}`;
    let bucket = this.pending.get(key);
    if (!bucket) {
      bucket = { limit, waiters: [], inFlight: false };
      this.pending.set(key, bucket);
    }
    const b = bucket;
    return new Promise<RateDecision>((resolve, reject) => {
      b.waiters.push({ resolve, reject });
      if (!b.inFlight) this.drain(key, b);
    });
  }

  private drain(key: string, bucket: PendingBucket): void {
    const batch = bucket.waiters.splice(0, MAX_BATCH);
    bucket.inFlight = true;
    this.opts.store
      .take(key, bucket.limit, batch.length)
      .then(
        (decisions) => {
          batch.forEach((w, i) => {
            w.resolve(decisions[i]!);
          });
        },
        (err) => {
          for (const w of batch) w.reject(err);
        },
      )
      .finally(() => {
        bucket.inFlight = false;
        if (bucket.waiters.length > 0) this.drain(key, bucket);
        else this.pending.delete(key);
      });
  }
}
