/**
 * Overload protection for synchronous queries (`POST /v1/queries` without `"async": true`): the
 * request waits for an admission slot (services/query-admission.ts) and keeps it until its
 * response is fully written or the client is gone — so slow readers count against the caps and
 * cannot pile up buffered results. A saturated service answers 503 `WAREHOUSE_UNAVAILABLE`, a
 * tenant over its own share 429 `RATE_LIMITED`, both at once or after a short bounded wait, with
 * `Retry-After`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { QueryAdmission } from '../../services/query-admission.js';
import type { AppEnv } from '../env.js';

/** Async submissions only enqueue a job: they do not take a slot. */
async function isAsyncSubmission(c: Context<AppEnv>): Promise<boolean> {
  if (!c.req.header('content-type')?.toLowerCase().includes('json')) return false;
  // Parsed once: Hono caches the body, so the route's validator reads the same value.
  const body = (await c.req.json().catch(() => null)) as { async?: unknown } | null;
  return body !== null && typeof body === 'object' && body.async === true;
}

export function concurrencyLimit(opts: { admission: QueryAdmission }): MiddlewareHandler<AppEnv> {
  return async function concurrencyLimitMiddleware(c, next) {
    const principal = c.get('principal');
    if (c.req.method !== 'POST' || !principal || (await isAsyncSubmission(c))) return next();
    const release = await opts.admission.acquire(principal.tenantId, c.req.raw.signal);
    const done = c.get('scope')?.done;
    try {
      await next();
    } finally {
      if (done) void done.then(release, release);
      else release();
    }
  };
}
