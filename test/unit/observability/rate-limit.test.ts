import { describe, expect, it } from 'vitest';
import { gcra, limitFor, parseTenantOverrides, scaledLimits } from '../../../src/domain/rate-limit.js';
import { LocalRateLimitStore, RateLimiter } from '../../../src/services/rate-limiter.js';

describe('rate-limit classes', () => {
  it('default to the original’s 100/300/10/100 per minute and scale from the query class', () => {
    expect(scaledLimits(100)).toEqual({
      queries: 100,
      job_reads: 300,
      bulk_creates: 10,
      bulk_reads: 100,
      admin: 300,
    });
    expect(scaledLimits(30)).toEqual({
      queries: 30,
      job_reads: 90,
      bulk_creates: 3,
      bulk_reads: 30,
      admin: 90,
    });
    expect(scaledLimits(5).bulk_creates).toBe(1);
    expect(scaledLimits(0)).toEqual({ queries: 0, job_reads: 0, bulk_creates: 0, bulk_reads: 0, admin: 0 });
  });

  it('parses per-tenant overrides: a number scales, an object sets classes, 0 is unlimited', () => {
    const o = parseTenantOverrides('{"acme": 1000, "bi": {"queries": 600, "job_reads": 0}}');
    const defaults = scaledLimits(100);
    expect(limitFor(defaults, o.get('acme'), 'job_reads')).toBe(3000);
    expect(limitFor(defaults, o.get('bi'), 'queries')).toBe(600);
    expect(limitFor(defaults, o.get('bi'), 'job_reads')).toBe(0);
    expect(limitFor(defaults, o.get('bi'), 'bulk_reads')).toBe(100);
    expect(limitFor(defaults, o.get('nobody'), 'queries')).toBe(100);
    expect(parseTenantOverrides('').size).toBe(0);
  });

  it.each([
    ['[1]', /JSON object/],
    ['{"a": -1}', /non-negative/],
    ['{"a": {"querys": 1}}', /unknown class "querys"/],
    ['{"a": {"queries": 1.5}}', /non-negative integer/],
    ['nope', /JSON object/],
  ])('refuses the override %s', (text, message) => {
    expect(() => parseTenantOverrides(text)).toThrow(message);
  });
});

describe('GCRA', () => {
  it('lets a full bucket burst exactly `limit` requests, then refills at limit/60 per second', () => {
    let tat: number | null = null;
    const now = 1_000_000;
    const decisions = [];
    for (let i = 0; i < 31; i++) {
      const { decision, newTatMs } = gcra(tat, now, 30);
      if (newTatMs !== null) tat = newTatMs;
      decisions.push(decision);
    }
    expect(decisions.filter((d) => d.allowed)).toHaveLength(30);
    expect(decisions[0]).toEqual({
      allowed: true,
      limit: 30,
      remaining: 29,
      resetSeconds: 2,
      retryAfterSeconds: 0,
    });
    expect(decisions[29]).toMatchObject({ allowed: true, remaining: 0, resetSeconds: 60 });
    expect(decisions[30]).toEqual({
      allowed: false,
      limit: 30,
      remaining: 0,
      resetSeconds: 60,
      retryAfterSeconds: 2,
    });
    // One emission interval (2 s) later exactly one more request fits.
    expect(gcra(tat, now + 2000, 30).decision).toMatchObject({ allowed: true, remaining: 0 });
    expect(gcra(tat, now + 1999, 30).decision.allowed).toBe(false);
    // A minute later the bucket is full again.
    expect(gcra(tat, now + 60_000, 30).decision.remaining).toBe(29);
  });

  it('keeps one bucket per tenant and class in the limiter', async () => {
    let now = 0;
    const limiter = new RateLimiter({ perMinute: 2, store: new LocalRateLimitStore(() => now) });
    const take = async (t: string, c: 'queries' | 'job_reads') => (await limiter.take(t, c))?.allowed;
    expect([await take('a', 'queries'), await take('a', 'queries'), await take('a', 'queries')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(await take('b', 'queries')).toBe(true);
    expect(await take('a', 'job_reads')).toBe(true);
    now += 30_000;
    expect(await take('a', 'queries')).toBe(true);
  });

  it('returns no decision (no headers) for unlimited tenants and classes', async () => {
    const limiter = new RateLimiter({
      perMinute: 0,
      overrides: parseTenantOverrides('{"acme": {"queries": 5}}'),
      store: new LocalRateLimitStore(),
    });
    expect(limiter.enabled).toBe(true);
    expect(await limiter.take('globex', 'queries')).toBeNull();
    expect((await limiter.take('acme', 'queries'))?.limit).toBe(5);
    expect(new RateLimiter({ perMinute: 0, store: new LocalRateLimitStore() }).enabled).toBe(false);
  });
});
