/**
 * The rate-limit middleware and the overload shed share one token per request: a request the shed
 * took a token for and then handed to the app (`takenBeforeApp`) is not charged a second time.
 */
import type { IncomingMessage } from 'node:http';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { RateDecision } from '../../../src/domain/rate-limit.js';
import type { AppEnv } from '../../../src/http/env.js';
import { rateLimit, takenBeforeApp } from '../../../src/http/middleware/rate-limit.js';
import { LocalRateLimitStore, RateLimiter } from '../../../src/services/rate-limiter.js';

function appWith(limiter: RateLimiter) {
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('principal', {
      tenantId: 'acme',
      dbUser: 'tenant_acme',
      dbGroups: [],
      permissions: ['query:execute'],
      authMethod: 'api_key',
      credentialId: 'k1',
    });
    await next();
  });
  app.use('*', rateLimit({ limiter }));
  app.post('/v1/queries', (c) => c.json({ ok: true }));
  return app;
}

describe('rate-limit middleware after the overload shed', () => {
  it('uses the token the shed already took for this request, and takes one for any other', async () => {
    let takes = 0;
    const local = new LocalRateLimitStore();
    const limiter = new RateLimiter({
      perMinute: 10,
      store: {
        take: (key, limit, count) => {
          takes += count;
          return local.take(key, limit, count);
        },
      },
    });
    const app = appWith(limiter);
    const incoming = {} as IncomingMessage;
    const taken: RateDecision = {
      allowed: true,
      limit: 10,
      remaining: 7,
      resetSeconds: 18,
      retryAfterSeconds: 0,
    };
    takenBeforeApp.set(incoming, taken);
    const handedOn = await app.request('/v1/queries', { method: 'POST' }, { incoming });
    expect(handedOn.status).toBe(200);
    expect(handedOn.headers.get('x-ratelimit-remaining')).toBe('7');
    expect(takes).toBe(0);
    const other = await app.request('/v1/queries', { method: 'POST' }, { incoming: {} as IncomingMessage });
    expect(other.headers.get('x-ratelimit-remaining')).toBe('9');
    expect(takes).toBe(1);
  });
});
