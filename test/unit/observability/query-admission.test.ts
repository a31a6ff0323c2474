import { describe, expect, it, vi } from 'vitest';
import type { ApiError } from '../../../src/domain/errors.js';
import { QueryAdmission, type ReleaseSlot } from '../../../src/services/query-admission.js';

const settle = <T>(p: Promise<T>) =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e: e as ApiError }),
  );

/** Records which tenant each queued request's slot went to, in grant order. */
function queueFor(a: QueryAdmission, tenants: string[]) {
  const granted: { tenant: string; release: ReleaseSlot }[] = [];
  const refused: { tenant: string; e: ApiError }[] = [];
  for (const tenant of tenants) {
    a.acquire(tenant).then(
      (release) => granted.push({ tenant, release }),
      (e: ApiError) => refused.push({ tenant, e }),
    );
  }
  return { granted, refused };
}

/** Lets the grants and refusals made synchronously reach their promise handlers. */
const settled = () => new Promise<void>((r) => setImmediate(r));

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

  it('a tenant alone uses every slot, and its extra requests wait instead of being refused', async () => {
    const a = new QueryAdmission({ maxConcurrent: 4, perTenant: 0, queueSize: 100, maxWaitMs: 60_000 });
    const q = queueFor(a, Array(20).fill('acme'));
    await settled();
    expect(a.tenantStats('acme')).toEqual({ running: 4, queued: 16 });
    for (let done = 0; done < 20; done++) {
      q.granted[done]!.release();
      await settled();
    }
    expect(q.granted).toHaveLength(20);
    expect(q.refused).toEqual([]);
    expect(a.stats).toEqual({ running: 0, queued: 0 });
  });

  it('under contention each free slot goes to the tenant furthest below its weighted share', async () => {
    const a = new QueryAdmission({
      maxConcurrent: 4,
      perTenant: 0,
      queueSize: 100,
      maxWaitMs: 60_000,
      weights: { acme: 2 },
    });
    // acme fills the idle pool and queues more before the others arrive.
    const q = queueFor(a, [
      ...Array(10).fill('acme'),
      ...Array(6).fill('globex'),
      ...Array(6).fill('initech'),
    ]);
    await settled();
    expect(q.granted.map((g) => g.tenant)).toEqual(['acme', 'acme', 'acme', 'acme']);
    for (let i = 0; i < 4; i++) {
      q.granted[i]!.release();
      await settled();
    }
    // Waiting acme requests arrived first, yet the others were served before acme regained its share.
    expect(q.granted.slice(4).map((g) => g.tenant)).toEqual(['globex', 'initech', 'acme', 'acme']);
    const running = (t: string) => a.tenantStats(t).running;
    expect([running('acme'), running('globex'), running('initech')]).toEqual([2, 1, 1]);
    // At the weighted shares (2:1:1), a slot freed by a tenant goes back to that tenant.
    const released = new Set(q.granted.slice(0, 4));
    const slotOf = (t: string) => q.granted.find((g) => g.tenant === t && !released.has(g))!;
    for (const t of ['globex', 'acme', 'initech', 'acme', 'globex']) {
      const g = slotOf(t);
      released.add(g);
      g.release();
      await settled();
      expect(q.granted.at(-1)!.tenant).toBe(t);
      expect([running('acme'), running('globex'), running('initech')]).toEqual([2, 1, 1]);
    }
    expect(q.refused).toEqual([]);
  });

  it('a full queue makes room for a tenant under its share by refusing the newest request of the tenant furthest over it', async () => {
    const refusals: string[] = [];
    const a = new QueryAdmission({ maxConcurrent: 2, perTenant: 0, queueSize: 4, maxWaitMs: 60_000 });
    a.onRefused = (why) => refusals.push(why);
    const acme = queueFor(a, Array(6).fill('acme'));
    await settled();
    expect(a.stats).toEqual({ running: 2, queued: 4 });
    const globex = queueFor(a, ['globex']);
    await settled();
    expect(acme.refused).toHaveLength(1);
    expect(acme.refused[0]!.e.code).toBe('RATE_LIMITED');
    expect(acme.refused[0]!.e.details).toMatchObject({ reason: 'concurrency', share: 1 });
    expect(acme.refused[0]!.e.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(a.tenantStats('globex')).toEqual({ running: 0, queued: 1 });
    // acme, over its share while globex waits, is refused with 429; a lone tenant would get 503.
    const more = queueFor(a, ['acme']);
    await settled();
    expect(more.refused[0]!.e.code).toBe('RATE_LIMITED');
    expect(refusals).toEqual(['tenant', 'tenant']);
    acme.granted[0]!.release();
    await settled();
    expect(globex.granted).toHaveLength(1);
  });

  it('a saturated service refuses with 503 when no tenant is over its share', async () => {
    const a = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 1, maxWaitMs: 60_000 });
    await a.acquire('acme');
    void a.acquire('acme').catch(() => {});
    const alone = await settle(a.acquire('acme'));
    expect(alone.ok ? null : alone.e.code).toBe('WAREHOUSE_UNAVAILABLE');
  });

  it('an optional hard cap holds a tenant with 429 while other tenants pass it in the queue', async () => {
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

  describe('refusalNow (the HTTP overload shed asks it before parsing a request)', () => {
    it('says nothing while the queue has room, and changes nothing', async () => {
      const a = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 1, maxWaitMs: 10_000 });
      expect(a.saturated).toBe(false);
      expect(a.refusalNow('acme')).toBeUndefined();
      await a.acquire('acme');
      expect(a.refusalNow('acme')).toBeUndefined();
      expect(a.stats).toEqual({ running: 1, queued: 0 });
    });

    it('gives the refusal acquire would give when the queue is full, counted once, and leaves the queue as it was', async () => {
      const refusals: string[] = [];
      const a = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 1, maxWaitMs: 10_000 });
      a.onRefused = (why) => refusals.push(why);
      await a.acquire('acme');
      const waiting = settle(a.acquire('acme'));
      expect(a.saturated).toBe(true);
      const err = a.refusalNow('acme');
      expect(err).toMatchObject({ code: 'WAREHOUSE_UNAVAILABLE', retryAfterSeconds: 10 });
      expect(err?.details).toMatchObject({ reason: 'overloaded', queue_size: 1 });
      expect(refusals).toEqual(['global']);
      expect(a.stats).toEqual({ running: 1, queued: 1 });
      const viaAcquire = await settle(a.acquire('acme'));
      expect(viaAcquire.ok ? null : viaAcquire.e.code).toBe(err?.code);
      expect(a.tenantStats('acme')).toEqual({ running: 1, queued: 1 });
      void waiting;
    });

    it('a tenant under its share is not refused (it would displace a waiter), and no waiter is displaced by asking', async () => {
      const a = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 2, maxWaitMs: 10_000 });
      await a.acquire('acme');
      const w1 = settle(a.acquire('acme'));
      const w2 = settle(a.acquire('acme'));
      expect(a.refusalNow('globex')).toBeUndefined();
      expect(a.tenantStats('acme')).toEqual({ running: 1, queued: 2 });
      expect(a.tenantStats('globex')).toEqual({ running: 0, queued: 0 });
      // The tenant over its share while another waits is told 429, as acquire would.
      void a.acquire('globex').catch(() => {});
      expect(a.refusalNow('acme')?.code).toBe('RATE_LIMITED');
      expect((await w2).ok).toBe(false);
      void w1;
    });

    it('wouldRefuse answers the same without counting or changing anything', async () => {
      const refusals: string[] = [];
      const a = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 1, maxWaitMs: 10_000 });
      a.onRefused = (why) => refusals.push(why);
      expect(a.wouldRefuse('acme')).toBe(false);
      await a.acquire('acme');
      void a.acquire('acme').catch(() => {});
      expect([a.wouldRefuse('acme'), a.wouldRefuse('globex')]).toEqual([true, false]);
      expect(refusals).toEqual([]);
      expect(a.tenantStats('globex')).toEqual({ running: 0, queued: 0 });
      expect(a.refusalNow('acme')?.code).toBe('WAREHOUSE_UNAVAILABLE');
      expect(refusals).toEqual(['global']);
    });

    it('leaves a refusal by a tenant’s hard cap alone while slots are free (not overload)', async () => {
      const a = new QueryAdmission({ maxConcurrent: 4, perTenant: 1, queueSize: 0, maxWaitMs: 1000 });
      await a.acquire('acme');
      expect(a.saturated).toBe(false);
      expect(a.refusalNow('acme')).toBeUndefined();
      const viaAcquire = await settle(a.acquire('acme'));
      expect(viaAcquire.ok ? null : viaAcquire.e.code).toBe('RATE_LIMITED');
    });

    it('answers the same situation with the same refusal, built once, and a changed one with a new one', async () => {
      const refusals: string[] = [];
      const a = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 1, maxWaitMs: 1000 });
      a.onRefused = (why) => refusals.push(why);
      const release = await a.acquire('acme');
      const waiting = settle(a.acquire('acme'));
      const first = a.refusalNow('acme');
      expect(a.refusalNow('acme')).toBe(first);
      const viaAcquire = await settle(a.acquire('acme'));
      expect(viaAcquire.ok ? null : viaAcquire.e).toBe(first);
      // Still counted once per refusal.
      expect(refusals).toEqual(['global', 'global', 'global']);
      // Another tenant waiting: acme, over its share, now gets the tenant refusal instead.
      void a.acquire('globex').catch(() => {});
      const share = a.refusalNow('acme');
      expect(share?.code).toBe('RATE_LIMITED');
      expect(share).not.toBe(first);
      expect(a.refusalNow('acme')).toBe(share);
      release();
      void waiting;
    });

    it('builds its refusals without a stack trace (an expected answer, not a fault)', async () => {
      const a = new QueryAdmission({ maxConcurrent: 1, perTenant: 0, queueSize: 0, maxWaitMs: 1000 });
      await a.acquire('acme');
      const err = a.refusalNow('acme');
      expect(err?.stack?.split('\n').length).toBe(1);
      expect(new Error('x').stack?.split('\n').length).toBeGreaterThan(1);
    });
  });

  describe('sustained overload: a queue that turns over without emptying is held short', () => {
    const options = { maxConcurrent: 2, perTenant: 0, queueSize: 4, maxWaitMs: 60_000, standingQueueSize: 1 };

    /** Two slots, a queue of 4 places (1 under sustained overload); every grant and refusal recorded. */
    function harness(opts: Partial<typeof options> = {}) {
      const a = new QueryAdmission({ ...options, ...opts });
      const running: ReleaseSlot[] = [];
      const refused: ApiError[] = [];
      const events: [boolean, number][] = [];
      a.onStanding = (standing, places) => events.push([standing, places]);
      const arrive = (tenant = 'acme', signal?: AbortSignal) => {
        a.acquire(tenant, signal).then(
          (release) => running.push(release),
          (e: ApiError) => refused.push(e),
        );
      };
      /** The oldest running query ends: its slot goes to a waiter, if any. */
      const finishOne = async () => {
        running.shift()!();
        await settled();
      };
      /** A steady load: `grants` times, the oldest query ends and one more request arrives. */
      const steady = async (grants: number) => {
        for (let i = 0; i < grants; i++) {
          await finishOne();
          arrive();
        }
      };
      return { a, running, refused, events, arrive, finishOne, steady };
    }

    /** Both slots busy and all 4 places taken. */
    async function full(opts: Partial<typeof options> = {}) {
      const h = harness(opts);
      for (let i = 0; i < 6; i++) h.arrive();
      await settled();
      expect(h.a.stats).toEqual({ running: 2, queued: 4 });
      return h;
    }

    /** Full, then turned over: 4 grants while 3 more arrive, so it never emptied. Held to 1 place, 3 waiting. */
    async function heldShort() {
      const h = await full();
      for (let i = 0; i < 4; i++) {
        await h.finishOne();
        if (i < 3) h.arrive();
      }
      return h;
    }

    it('a single burst that fills the queue is served whole: it drains before the queue has turned over', async () => {
      const h = await full();
      for (let i = 0; i < 6; i++) await h.finishOne();
      expect(h.refused).toEqual([]);
      expect(h.events).toEqual([]);
      expect(h.a.stats).toEqual({ running: 0, queued: 0 });
      expect(h.a.queuePlaces).toBe(4);
    });

    it('a steady load that keeps no more than standingQueueSize waiting, for many turnovers, leaves every place to the next burst', async () => {
      const h = harness({ standingQueueSize: 2 });
      for (let i = 0; i < 4; i++) h.arrive(); // two running, two waiting
      await settled();
      await h.steady(12);
      expect(h.a.stats).toEqual({ running: 2, queued: 2 });
      expect(h.events).toEqual([]);
      // A burst on top: it takes the two free places, and drains without a turnover above 2.
      for (let i = 0; i < 2; i++) h.arrive();
      await settled();
      expect(h.refused).toEqual([]);
      expect(h.a.stats).toEqual({ running: 2, queued: 4 });
      for (let i = 0; i < 2; i++) await h.finishOne();
      expect(h.events).toEqual([]);
    });

    it('a steady load that keeps more than standingQueueSize waiting is held short after a turnover (it never drains)', async () => {
      const h = harness({ standingQueueSize: 2 });
      for (let i = 0; i < 6; i++) h.arrive(); // two running, four waiting
      await settled();
      // Each grant leaves three waiting (more than 2) and one more arrives: four grants turn it over.
      await h.steady(4);
      expect(h.events).toEqual([[true, 2]]);
      // The arrival after the fourth grant found the queue held to 2 places, with 3 waiting.
      await settled();
      expect(h.refused.map((e) => e.code)).toEqual(['WAREHOUSE_UNAVAILABLE']);
      expect(h.a.stats).toEqual({ running: 2, queued: 3 });
    });

    it('arrivals that keep the queue above its standing size through a whole turnover hold it to standingQueueSize; newcomers beyond it are refused, the waiting keep their places', async () => {
      const h = await full();
      // Each finished query grants a waiter and one more arrives: the queue never empties.
      await h.steady(3);
      expect(h.events).toEqual([]);
      await h.finishOne(); // the 4th grant: the whole queue has turned over
      expect(h.events).toEqual([[true, 1]]);
      expect(h.a.queuePlaces).toBe(1);
      expect(h.a.stats).toEqual({ running: 2, queued: 3 });
      expect(h.a.saturated).toBe(true);
      const late = await settle(h.a.acquire('acme'));
      expect(late.ok ? null : late.e.code).toBe('WAREHOUSE_UNAVAILABLE');
      expect(late.ok ? null : late.e.message).toMatch(/sustained overload, the queue is held to 1 places/);
      expect(late.ok ? null : late.e.details).toMatchObject({ queue_size: 1 });
      // The three already waiting keep their places and are served.
      for (let i = 0; i < 3; i++) await h.finishOne();
      expect(h.refused).toEqual([]);
      expect(h.a.stats).toEqual({ running: 2, queued: 0 });
    });

    it('the queue gets all its places back once it empties', async () => {
      const h = await heldShort();
      expect(h.a.queuePlaces).toBe(1);
      for (let i = 0; i < 3; i++) await h.finishOne();
      expect(h.events).toEqual([
        [true, 1],
        [false, 4],
      ]);
      expect(h.a.queuePlaces).toBe(4);
      expect(h.a.saturated).toBe(false);
      for (let i = 0; i < 4; i++) h.arrive();
      await settled();
      expect(h.refused).toEqual([]);
      expect(h.a.stats).toEqual({ running: 2, queued: 4 });
    });

    it('a waiter leaving (client gone) counts as emptying when it is the last one', async () => {
      const h = await full();
      const ctl = new AbortController();
      for (let i = 0; i < 4; i++) {
        await h.finishOne();
        if (i < 2) h.arrive();
        if (i === 2) h.arrive('acme', ctl.signal);
      }
      expect(h.a.queuePlaces).toBe(1);
      for (let i = 0; i < 2; i++) await h.finishOne();
      expect(h.a.stats.queued).toBe(1);
      ctl.abort();
      await settled();
      expect(h.a.stats.queued).toBe(0);
      expect(h.a.queuePlaces).toBe(4);
      expect(h.events.at(-1)).toEqual([false, 4]);
    });

    it('a standing size of at least the queue size never holds it short', async () => {
      const h = await full({ standingQueueSize: 4 });
      await h.steady(12);
      await settled();
      expect(h.events).toEqual([]);
      expect(h.refused).toEqual([]);
      expect(h.a.stats).toEqual({ running: 2, queued: 4 });
    });

    it('the shed sees the short queue: saturated, wouldRefuse and refusalNow use the places now', async () => {
      const h = await heldShort();
      // Three waiting, one place: the tenant alone is refused; a tenant under its share would displace a waiter.
      expect(h.a.wouldRefuse('acme')).toBe(true);
      expect(h.a.refusalNow('acme')?.code).toBe('WAREHOUSE_UNAVAILABLE');
      expect(h.a.wouldRefuse('globex')).toBe(false);
    });
  });
});
