/** `X-Request-ID`: echoed when the client sends a sane one, generated otherwise; on every response. */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.js';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `X-Request-ID` when it is sane, else a new one. */
export const requestIdFrom = (given: string | undefined): string =>
  given && SANE_ID.test(given) ? given : crypto.randomUUID();

export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const id = requestIdFrom(c.req.header('x-request-id'));
    c.set('requestId', id);
    c.header('X-Request-ID', id);
    await next();
  };
}
