/**
 * Per-tenant rate limits: route classes, their per-minute limits, and the GCRA decision (a token
 * bucket kept as one timestamp, the "theoretical arrival time"). The bucket holds a minute's worth
 * of requests, so a quiet tenant may burst its whole per-minute limit and then refills at
 * limit/60 per second. Pure: the stores (in-process or the StateStore) only keep the timestamp.
 */

export const RATE_CLASSES = ['queries', 'job_reads', 'bulk_creates', 'bulk_reads', 'admin'] as const;
export type RateClass = (typeof RATE_CLASSES)[number];

/** API.md classes at the original's defaults (100/300/10/100 per minute); admin calls get 300. */
const RELATIVE_TO_QUERIES: Record<RateClass, number> = {
  queries: 1,
  job_reads: 3,
  bulk_creates: 0.1,
  bulk_reads: 1,
  admin: 3,
};

/** Requests per minute for each class; 0 = unlimited. */
export type RateLimits = Record<RateClass, number>;

/** `SPECTRA_RATE_LIMIT_PER_MINUTE` sets the query class; the other classes keep their ratio to it. */
export function scaledLimits(queriesPerMinute: number): RateLimits {
  const out = {} as RateLimits;
  for (const cls of RATE_CLASSES) {
    out[cls] =
      queriesPerMinute <= 0 ? 0 : Math.max(1, Math.round(queriesPerMinute * RELATIVE_TO_QUERIES[cls]));
  }
  return out;
}

/**
 * A tenant's override: a number scales every class like the global setting does; an object sets
 * classes individually (unnamed classes keep the global limit). 0 = unlimited.
 */
export type TenantRateOverride = number | Partial<Record<RateClass, number>>;

/** Parses `SPECTRA_RATE_LIMIT_TENANTS` (a JSON object tenant → override); throws a readable Error. */
export function parseTenantOverrides(text: string): Map<string, TenantRateOverride> {
  const out = new Map<string, TenantRateOverride>();
  if (text.trim() === '') return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('must be a JSON object, e.g. {"acme": 1000, "bi-tool": {"queries": 600}}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('must be a JSON object of tenant id → limit');
  const isLimit = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  for (const [tenant, value] of Object.entries(parsed)) {
    if (isLimit(value)) {
      out.set(tenant, value);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error(`"${tenant}": expected a non-negative integer or an object of class → limit`);
    const classes: Partial<Record<RateClass, number>> = {};
    for (const [cls, limit] of Object.entries(value)) {
      if (!(RATE_CLASSES as readonly string[]).includes(cls))
        throw new Error(`"${tenant}": unknown class "${cls}" (known: ${RATE_CLASSES.join(', ')})`);
      if (!isLimit(limit)) throw new Error(`"${tenant}.${cls}": expected a non-negative integer`);
      classes[cls as RateClass] = limit;
    }
    out.set(tenant, classes);
  }
  return out;
}

/** The limit that applies to one tenant and class (0 = unlimited). */
export function limitFor(
  defaults: RateLimits,
  override: TenantRateOverride | undefined,
  cls: RateClass,
): number {
  if (override === undefined) return defaults[cls];
  if (typeof override === 'number') return scaledLimits(override)[cls];
  return override[cls] ?? defaults[cls];
}

export interface RateDecision {
  allowed: boolean;
  /** Requests per minute (the bucket size). */
  limit: number;
  /** Requests that could be made right now after this one. */
  remaining: number;
  /** Seconds until the bucket is full again (`X-RateLimit-Reset`). */
  resetSeconds: number;
  /** When refused: seconds until one request would be allowed (`Retry-After`, at least 1). */
  retryAfterSeconds: number;
}

export const RATE_WINDOW_MS = 60_000;
/** Floating-point slack so that exactly `limit` requests fit in a full bucket. */
const EPSILON_MS = 1e-6;

/** Milliseconds one request costs (the emission interval). */
export const emissionIntervalMs = (limit: number) => RATE_WINDOW_MS / limit;

/**
 * GCRA: with `tatMs` the bucket's theoretical arrival time (null = never used) and `nowMs` the
 * clock, decides one request. Returns the decision and the new TAT to store when allowed.
 */
export function gcra(
  tatMs: number | null,
  nowMs: number,
  limit: number,
): { decision: RateDecision; newTatMs: number | null } {
  const granted = grantable(tatMs, nowMs, limit, 1);
  const newTatMs = granted ? Math.max(tatMs ?? nowMs, nowMs) + emissionIntervalMs(limit) : null;
  return { decision: batchDecisions(1, granted, limit, nowMs, newTatMs ?? tatMs)[0]!, newTatMs };
}

/** The decision for an allowed request, given how far the new TAT is ahead of now. */
export function allowed(limit: number, aheadMs: number): RateDecision {
  const interval = emissionIntervalMs(limit);
  return {
    allowed: true,
    limit,
    remaining: Math.max(0, Math.floor((RATE_WINDOW_MS - aheadMs + EPSILON_MS) / interval)),
    resetSeconds: Math.max(0, Math.ceil(aheadMs / 1000)),
    retryAfterSeconds: 0,
  };
}

/**
 * Decisions for `count` requests taken together, of which the first `granted` were allowed:
 * `tatMs` is the bucket's TAT after the take (unchanged when none was granted).
 */
export function batchDecisions(
  count: number,
  granted: number,
  limit: number,
  nowMs: number,
  tatMs: number | null,
): RateDecision[] {
  const interval = emissionIntervalMs(limit);
  const out: RateDecision[] = [];
  for (let i = 0; i < granted; i++) out.push(allowed(limit, tatMs! - nowMs - (granted - 1 - i) * interval));
  if (granted < count) {
    const base = Math.max(tatMs ?? nowMs, nowMs);
    const no = refused(limit, base - nowMs, base + interval - nowMs - RATE_WINDOW_MS);
    for (let i = granted; i < count; i++) out.push(no);
  }
  return out;
}

/** How many of `count` requests fit in the bucket now (GCRA with several requests at once). */
export function grantable(tatMs: number | null, nowMs: number, limit: number, count: number): number {
  const interval = emissionIntervalMs(limit);
  const ahead = Math.max(tatMs ?? nowMs, nowMs) - nowMs;
  return Math.max(0, Math.min(count, Math.floor((RATE_WINDOW_MS + EPSILON_MS - ahead) / interval)));
}

/** The decision for a refused request: `aheadMs` = current TAT − now, `waitMs` = time until one fits. */
export function refused(limit: number, aheadMs: number, waitMs: number): RateDecision {
  return {
    allowed: false,
    limit,
    remaining: 0,
    resetSeconds: Math.max(1, Math.ceil(aheadMs / 1000)),
    retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
  };
}
