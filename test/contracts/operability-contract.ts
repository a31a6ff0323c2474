/**
 * The operability stores of a StateStore — the audit trail (batch append, oldest-first listing with
 * cursor and filters, retention delete) and the shared rate-limit buckets (same decisions as the
 * in-process GCRA; atomic under concurrency) — written against the port only:
 * `operabilityStoresContract(name, factory)` runs against each adapter. The factory passes the
 * contract's clock to the store so rate-limit decisions do not drift while a slow machine runs them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, newAuditEntryId } from '../../src/domain/audit-entry.js';
import { AuditService } from '../../src/services/audit-service.js';
import { LocalRateLimitStore, RateLimiter } from '../../src/services/rate-limiter.js';
import type { StateStore } from '../../src/state/port.js';
import { manualClock } from '../helpers/time.js';

export function operabilityStoresContract(
  name: string,
  factory: (now: () => number) => Promise<{ store: StateStore; close(): Promise<void> }>,
): void {
  const clock = manualClock();
  let state: StateStore;
  let close: (() => Promise<void>) | undefined;
  const run = Date.now().toString(36);
  const tenantA = `audit-a-${run}`;
  const tenantB = `audit-b-${run}`;

  beforeAll(async () => {
    ({ store: state, close } = await factory(clock.now));
  });
  afterAll(async () => {
    await close?.();
  });

  function entry(tenantId: string, at: Date, over: Partial<AuditEntry> = {}): AuditEntry {
    return {
      entryId: newAuditEntryId(at.getTime()),
      at: at.toISOString(),
      requestId: crypto.randomUUID(),
      traceId: 'a'.repeat(32),
      tenantId,
      principal: 'key0001',
      authMethod: 'api_key',
      method: 'POST',
      route: '/v1/queries',
      status: 200,
      outcome: 'success',
      errorCode: null,
      jobId: 'job-1',
      sqlFingerprint: 'f'.repeat(32),
      sql: 'SELECT $1',
      paramNames: ['since'],
      rowCount: 3,
      bytes: 512,
      durationMs: 1.5,
      clientIp: '127.0.0.1',
      ...over,
    };
  }

  describe(`${name}: the audit store`, () => {
    it('appends a batch in one statement and reads it back oldest first, page by page', async () => {
      const t0 = Date.parse('2030-01-01T00:00:00Z');
      const entries = Array.from({ length: 7 }, (_, i) =>
        entry(i % 2 ? tenantB : tenantA, new Date(t0 + i * 1000), { rowCount: i }),
      );
      await state.audit.append([...entries].reverse());
      const seen: AuditEntry[] = [];
      let cursor: string | undefined;
      do {
        const page = await state.audit.list({ tenantId: tenantA }, { limit: 2, cursor });
        seen.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen.map((e) => e.rowCount)).toEqual([0, 2, 4, 6]);
      expect(seen[0]).toEqual(entries[0]);

      const window = await state.audit.list(
        { since: new Date(t0 + 2000).toISOString(), until: new Date(t0 + 5000).toISOString() },
        { limit: 100 },
      );
      expect(
        window.items.filter((e) => e.tenantId === tenantA || e.tenantId === tenantB).map((e) => e.rowCount),
      ).toEqual([2, 3, 4]);
    });

    it('reads newest first with order desc, page by page, within since and until', async () => {
      const t0 = Date.parse('2031-01-01T00:00:00Z');
      const tenantC = `audit-c-${run}`;
      const tenantD = `audit-d-${run}`;
      // Two days, so the cross-tenant listing walks the days backwards too.
      const entries = Array.from({ length: 7 }, (_, i) =>
        entry(i % 2 ? tenantD : tenantC, new Date(t0 + i * 6 * 3.6e6), { rowCount: i }),
      );
      await state.audit.append(entries);
      const read = async (filter: Parameters<StateStore['audit']['list']>[0], limit: number) => {
        const seen: AuditEntry[] = [];
        let cursor: string | undefined;
        do {
          const page = await state.audit.list(filter, { limit, cursor });
          seen.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        return seen;
      };
      expect((await read({ tenantId: tenantC, order: 'desc' }, 1)).map((e) => e.rowCount)).toEqual([
        6, 4, 2, 0,
      ]);
      expect((await read({ tenantId: tenantC, order: 'desc' }, 3)).map((e) => e.rowCount)).toEqual([
        6, 4, 2, 0,
      ]);
      expect((await read({ tenantId: tenantC, order: 'asc' }, 3)).map((e) => e.rowCount)).toEqual([
        0, 2, 4, 6,
      ]);
      const window = {
        since: new Date(t0 + 1 * 6 * 3.6e6).toISOString(),
        until: new Date(t0 + 5 * 6 * 3.6e6).toISOString(),
        order: 'desc' as const,
      };
      const ours = (es: AuditEntry[]) =>
        es.filter((e) => e.tenantId === tenantC || e.tenantId === tenantD).map((e) => e.rowCount);
      expect(ours(await read(window, 1))).toEqual([4, 3, 2, 1]);
      expect(ours(await read(window, 100))).toEqual([4, 3, 2, 1]);
      expect((await read({ ...window, tenantId: tenantD }, 1)).map((e) => e.rowCount)).toEqual([3, 1]);
    });

    it('rejects a malformed cursor with INVALID_REQUEST', async () => {
      await expect(state.audit.list({}, { limit: 1, cursor: 'not-a-cursor' })).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
      });
    });

    it('deletes entries past the retention and keeps the rest', async () => {
      const tenant = `audit-ret-${run}`;
      const now = Date.now();
      await state.audit.append([
        entry(tenant, new Date(now - 10 * 86_400_000)),
        entry(tenant, new Date(now - 9 * 86_400_000)),
        entry(tenant, new Date(now - 60_000)),
      ]);
      const audit = new AuditService({ store: state.audit, retentionDays: 7 });
      expect(await audit.sweep()).toBeGreaterThanOrEqual(2);
      const left = await state.audit.list({ tenantId: tenant }, { limit: 10 });
      expect(left.items).toHaveLength(1);
    });
  });

  describe(`${name}: the shared rate-limit buckets`, () => {
    const takeOne = async (key: string, limit: number) => (await state.rateLimits.take(key, limit, 1))[0]!;

    it('allow exactly the burst and report the same headers as the in-process buckets', async () => {
      const key = `rl-${run}:queries`;
      const decisions = [];
      for (let i = 0; i < 6; i++) decisions.push(await takeOne(key, 5));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
      expect(decisions[0]).toMatchObject({ limit: 5, remaining: 4 });
      expect(decisions[4]).toMatchObject({ remaining: 0 });
      expect(decisions[4]!.resetSeconds).toBeGreaterThanOrEqual(59);
      expect(decisions[5]).toMatchObject({ allowed: false, remaining: 0 });
      expect(decisions[5]!.retryAfterSeconds).toBeGreaterThanOrEqual(11);
      expect(decisions[5]!.retryAfterSeconds).toBeLessThanOrEqual(12);
    });

    it('grant a batch as far as the bucket allows, in order, with the same decisions as one by one', async () => {
      const decisions = await state.rateLimits.take(`rl-batch-${run}:queries`, 5, 8);
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false, false]);
      expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0]);
      const local = await new LocalRateLimitStore(clock.now).take('x', 5, 8);
      expect(local.map((d) => [d.allowed, d.remaining])).toEqual(
        decisions.map((d) => [d.allowed, d.remaining]),
      );
    });

    it('never let more than the limit through under concurrent calls from many connections', async () => {
      const key = `rl-concurrent-${run}:queries`;
      const decisions = await Promise.all(Array.from({ length: 60 }, () => takeOne(key, 20)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(20);
    });

    it('refill one request per emission interval of their clock, and only then', async () => {
      const key = `rl-refill-${run}:queries`;
      for (let i = 0; i < 5; i++) expect((await takeOne(key, 5)).allowed).toBe(true);
      expect((await takeOne(key, 5)).allowed).toBe(false);
      clock.advance(11_999);
      expect((await takeOne(key, 5)).allowed).toBe(false);
      clock.advance(1);
      expect((await takeOne(key, 5)).allowed).toBe(true);
      expect((await takeOne(key, 5)).allowed).toBe(false);
    });

    it('batch concurrent requests of one bucket in the limiter without letting more through', async () => {
      let calls = 0;
      const counting = {
        take: (key: string, limit: number, count: number) => {
          calls++;
          return state.rateLimits.take(key, limit, count);
        },
      };
      const limiter = new RateLimiter({ perMinute: 20, store: counting });
      const tenant = `rl-limiter-${run}`;
      const decisions = await Promise.all(Array.from({ length: 60 }, () => limiter.take(tenant, 'queries')));
      expect(decisions.filter((d) => d?.allowed)).toHaveLength(20);
      expect(calls).toBeLessThan(10);
    });
  });

  describe(`${name}: audit rows with awkward text`, () => {
    it('round-trips tabs, newlines, backslashes, quotes and unicode, dropping NUL', async () => {
      const tenant = `audit-text-${run}`;
      const sql = "SELECT 'a\tb\nc\\d\"e', 'é✓' FROM t WHERE x = $1\r\n";
      await state.audit.append([
        entry(tenant, new Date(), {
          sql: `${sql}\u0000`,
          paramNames: ['a"b', 'c\\d', 'x,y'],
          errorCode: null,
        }),
      ]);
      const page = await state.audit.list({ tenantId: tenant }, { limit: 10 });
      expect(page.items[0]).toMatchObject({ sql, paramNames: ['a"b', 'c\\d', 'x,y'] });
    });
  });
}
