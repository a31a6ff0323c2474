/** `X-Request-ID`: echoed when the client sends a sane one, generated otherwise; on every response. */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.js';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const given = c.req.header('x-request-id');
    const id = given && SANE_ID.test(given) ? given : crypto.randomUUID();
    c.set('requestId', id);
    c.header('X-Request-ID', id);
    await next();
  };
}
