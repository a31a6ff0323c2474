/**
 * CORS for browsers calling the API directly (the Node server; on AWS, API Gateway answers
 * preflights and the API function adds the same headers). A preflight from an allowed origin is
 * answered here, before authentication; other responses to an allowed origin carry
 * `Access-Control-Allow-Origin` (the origin itself, or `*` when any origin is allowed) and expose
 * the headers clients read. Credentials mode is never enabled: callers send their key in
 * `Authorization`, and `*` combined with credentials is what browsers must refuse.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.js';

/** Request headers browsers may send (the same list as API Gateway's preflight, infra/lib/rest-api.ts). */
export const CORS_ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Accept-Encoding',
  'X-Tenant-ID',
  'X-Request-ID',
  'X-Idempotency-Key',
  'Idempotency-Key',
];

/** Response headers browsers may read. */
export const CORS_EXPOSE_HEADERS = [
  'X-Request-ID',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Retry-After',
  'Server-Timing',
  'Location',
  'WWW-Authenticate',
  'Idempotent-Replayed',
  'X-Spectra-Job-Id',
  'X-Spectra-Columns',
  'X-Spectra-Column-Types',
  'X-Spectra-Row-Limit',
];

const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
const MAX_AGE_SECONDS = 3600;

export interface CorsOptions {
  /** Allowed origins (`https://app.example.com`), or `*` for any. */
  origins: readonly string[];
}

export function cors(opts: CorsOptions): MiddlewareHandler<AppEnv> {
  const any = opts.origins.includes('*');
  const allowed = new Set(opts.origins);
  const expose = CORS_EXPOSE_HEADERS.join(', ');
  return async function corsMiddleware(c, next) {
    const origin = c.req.header('origin');
    const permitted = origin !== undefined && (any || allowed.has(origin));
    const allowOrigin = any ? '*' : (origin ?? '');
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
      const headers: Record<string, string> = { Vary: 'Origin' };
      if (permitted) {
        Object.assign(headers, {
          'Access-Control-Allow-Origin': allowOrigin,
          'Access-Control-Allow-Methods': ALLOW_METHODS,
          'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS.join(', '),
          'Access-Control-Max-Age': String(MAX_AGE_SECONDS),
        });
      }
      return c.body(null, 204, headers);
    }
    await next();
    if (!permitted) return;
    try {
      c.res.headers.set('Access-Control-Allow-Origin', allowOrigin);
      c.res.headers.set('Access-Control-Expose-Headers', expose);
      if (!any) c.res.headers.append('Vary', 'Origin');
    } catch {
      // A response with immutable headers (a fetched body passed through) goes out without them.
    }
  };
}
