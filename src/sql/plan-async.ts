/**
 * planQueryAsync: planQuery for servers. A cache hit answers at once, a small statement is
 * planned on this thread (cheaper than the hand-off), and a large one in the planner pool, so
 * parsing 100 KB of one tenant's SQL never stalls the event loop that serves the others.
 * Every outcome goes into the same plan cache as planQuery's.
 */
import { ApiError } from '../domain/errors.js';
import {
  cachedPlan,
  checkRequest,
  type PlanOutcome,
  type PlanRequest,
  planAndRemember,
  planCacheKey,
  rememberOutcome,
  type SqlPlan,
} from './plan.js';
import { PlannerPool, type PlannerPoolStats } from './planner-pool.js';
import type { GuardPolicy } from './policy.js';

export interface PlannerOptions {
  /** Worker threads for large statements; 0 plans everything on the calling thread. */
  threads: number;
  /** Statements of at least this many characters are planned in a worker thread. */
  offloadChars: number;
}

/**
 * Measured (docs/security.md "Cost"): below 4 KB in-thread planning stays under ~3 ms even with
 * placeholders, while the hand-off to a thread costs ~0.1–0.4 ms.
 */
export const DEFAULT_PLANNER_OPTIONS: Readonly<PlannerOptions> = { threads: 1, offloadChars: 4_096 };

let options: PlannerOptions = { ...DEFAULT_PLANNER_OPTIONS };
let pool: PlannerPool | undefined;
/** Statements being planned in a thread, so identical concurrent requests share one parse. */
const inFlight = new Map<string, Promise<PlanOutcome>>();

/** Sets the planner's thread count and offload threshold; running threads are replaced lazily. */
export function configurePlanner(next: Partial<PlannerOptions>): void {
  const merged = { ...options, ...next };
  for (const key of ['threads', 'offloadChars'] as const) {
    if (!Number.isSafeInteger(merged[key]) || merged[key] < 0) {
      throw new TypeError(`planner ${key} must be a non-negative integer, got ${String(merged[key])}`);
    }
  }
  if (merged.threads !== options.threads) void closePlanner();
  options = merged;
}

/** Terminates the planner threads (they restart on the next large statement). */
export async function closePlanner(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}

export function plannerStats(): PlannerPoolStats & PlannerOptions {
  return { ...options, ...(pool?.stats() ?? { running: 0, busy: 0, queued: 0 }) };
}

/** Validates and rewrites one tenant statement like planQuery, off the event loop when it is large. */
export async function planQueryAsync(req: PlanRequest, policy: GuardPolicy): Promise<SqlPlan> {
  checkRequest(req, policy);
  const key = planCacheKey(req, policy);
  const cached = cachedPlan(key);
  if (cached !== undefined) return cached;
  if (options.threads === 0 || req.sql.length < options.offloadChars)
    return planAndRemember(key, req, policy);

  let pending = inFlight.get(key);
  if (pending === undefined) {
    pool ??= new PlannerPool({ size: options.threads });
    pending = pool.plan(req, policy).then((outcome) => {
      inFlight.delete(key);
      rememberOutcome(key, outcome);
      return outcome;
    });
    inFlight.set(key, pending);
  }
  const outcome = await pending;
  if ('plan' in outcome) return outcome.plan;
  // Each caller gets its own error: waiters on the same statement must not share mutable details.
  const { code, message, details } = outcome.error;
  throw new ApiError(code, message, structuredClone(details));
}
