import { describe, expect, it, vi } from 'vitest';
import type { ApiError } from '../../../src/domain/errors.js';
import { QueryAdmission } from '../../../src/services/query-admission.js';

const settle = <T>(p: Promise<T>) =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e: e as ApiError }),
  );

describe('query admission', () => {
  it('runs up to the global cap, queues the next ones and grants them in order on release', async () => {
    const a = new QueryAdmission({ maxConcurrent: 2, perTenant: 0, queueSize: 2, maxWaitMs: 1000 });
    const r1 = await a.acquire('t1');
    await a.acquire('t2');
    const waiting = [a.acquire('t3'), a.acquire('t4')];
    expect(a.stats).toEqual({ running: 2, queued: 2 });
    const full = await settle(a.acquire('t5'));
    expect(full.ok).toBe(false);
    if (!full.ok) {
      expect(full.e.code).toBe('WAREHOUSE_UNAVAILABLE');
      expect(full.e.retryAfterSeconds).toBe(1);
    }
    r1();
    r1(); // a second release of the same slot changes nothing
    const r3 = await waiting[0]!;
    expect(a.stats).toEqual({ running: 2, queued: 1 });
    r3();
    await waiting[1];
    expect(a.stats).toEqual({ running: 2, queued: 0 });
  });

  it('refuses a waiter at the maximum wait, not later', async () => {
    vi.useFakeTimers();
    try {
      const a = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 5, maxWaitMs: 50 });
      await a.acquire('t1');
      let outcome: Awaited<ReturnType<typeof settle>> | undefined;
      void settle(a.acquire('t2')).then((r) => {
        outcome = r;
      });
      await vi.advanceTimersByTimeAsync(49);
      expect(outcome).toBeUndefined();
      expect(a.stats.queued).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(outcome?.ok ? null : outcome?.e.code).toBe('WAREHOUSE_UNAVAILABLE');
      expect(a.stats.queued).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('holds a tenant to its share with 429 while other tenants pass it in the queue', async () => {
    const refusals: string[] = [];
    const a = new QueryAdmission({ maxConcurrent: 4, perTenant: 1, queueSize: 5, maxWaitMs: 50 });
    a.onRefused = (why) => refusals.push(why);
    await a.acquire('acme');
    const second = settle(a.acquire('acme'));
    const other = await settle(a.acquire('globex'));
    expect(other.ok).toBe(true);
    const r = await second;
    expect(r.ok ? null : r.e.code).toBe('RATE_LIMITED');
    expect(r.ok ? null : r.e.details).toMatchObject({ reason: 'concurrency', limit: 1 });
    expect(refusals).toEqual(['tenant']);
  });

  it('gives up the place in the queue when the client goes away', async () => {
    const a = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 5, maxWaitMs: 10_000 });
    await a.acquire('t1');
    const ac = new AbortController();
    const waiting = settle(a.acquire('t2', ac.signal));
    expect(a.stats.queued).toBe(1);
    ac.abort();
    expect((await waiting).ok).toBe(false);
    expect(a.stats.queued).toBe(0);
  });
});
