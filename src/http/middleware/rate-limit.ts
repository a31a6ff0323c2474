/**
 * Per-tenant rate limits on `/v1` (after authentication): each request takes one token from the
 * bucket of its tenant and route class. Every limited response carries `X-RateLimit-Limit`
 * (requests per minute), `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds until the bucket
 * is full again); a refused one is `429 RATE_LIMITED` with `Retry-After`. If the shared bucket
 * store cannot be reached the request is let through (fail open) and a warning is logged.
 */
import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../domain/errors.js';
import type { RateClass, RateDecision } from '../../domain/rate-limit.js';
import type { RateLimiter } from '../../services/rate-limiter.js';
import type { AppEnv } from '../env.js';
import { rateClassOf } from '../route-class.js';

const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

export interface RateLimitOptions {
  limiter: RateLimiter;
  onRefused?: (cls: RateClass) => void;
}

/** The `X-RateLimit-*` headers of a decision. */
export function rateLimitHeaders(d: RateDecision): [string, string][] {
  return [
    ['X-RateLimit-Limit', String(d.limit)],
    ['X-RateLimit-Remaining', String(d.remaining)],
    ['X-RateLimit-Reset', String(d.resetSeconds)],
  ];
}

/** The 429 of a refused decision. */
export function rateLimited(cls: RateClass, d: RateDecision): ApiError {
  return new ApiError(
    'RATE_LIMITED',
    `rate limit exceeded: ${d.limit} ${cls.replace('_', ' ')} requests per minute; retry in ${d.retryAfterSeconds} s`,
    { class: cls, limit: d.limit, retry_after_seconds: d.retryAfterSeconds },
    d.retryAfterSeconds,
  );
}

/**
 * Tokens the overload shed (http/overload-shed.ts) already took for a request it then handed to
 * the app after all: the middleware uses that decision instead of taking a second token.
 */
export const takenBeforeApp = new WeakMap<IncomingMessage, RateDecision>();

export function rateLimit(opts: RateLimitOptions): MiddlewareHandler<AppEnv> {
  let lastStoreErrorLog = 0;
  return async function rateLimitMiddleware(c, next) {
    const principal = c.get('principal');
    const cls = rateClassOf(c.req.method, c.req.path);
    if (!principal || !cls) return next();
    const incoming = c.env?.incoming;
    let decision: RateDecision | null;
    try {
      decision =
        (incoming && takenBeforeApp.get(incoming)) ?? (await opts.limiter.take(principal.tenantId, cls));
    } catch (err) {
      const now = Date.now();
      if (now - lastStoreErrorLog > STORE_ERROR_LOG_INTERVAL_MS) {
        lastStoreErrorLog = now;
        c.get('log')?.warn({ err }, 'rate-limit store unavailable; requests are not limited');
      }
      return next();
    }
    if (!decision) return next();
    c.set('rateLimit', decision);
    const headers = rateLimitHeaders(decision);
    for (const [k, v] of headers) c.header(k, v);
    if (!decision.allowed) {
      opts.onRefused?.(cls);
      throw rateLimited(cls, decision);
    }
    await next();
    // A handler that built its own Response (streams) did not get the headers set above.
    if (!c.res.headers.has('X-RateLimit-Limit')) {
      try {
        for (const [k, v] of headers) c.res.headers.set(k, v);
      } catch {
        // Immutable headers: the response goes out without them.
      }
    }
  };
}
