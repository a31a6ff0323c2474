/**
 * The StateStore port's contract for tenants, API keys, query job records, job retention,
 * idempotency records and warehouse sessions: what every adapter must do, written against the port
 * only. An adapter's runner calls `stateContract(name, factory)`; the queue, bulk and operability
 * stores have their own contracts beside this one.
 *
 * The store may be shared with other tests: every id made here carries a random run prefix, and
 * no assertion depends on the store being empty. Only what DynamoDB can do is asked for: key
 * lookups, conditional single-item updates, per-tenant listing in time order with opaque cursors,
 * expiry filtered on read.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/domain/errors.js';
import type { JobStatus, QueryJob } from '../../src/domain/query-job.js';
import type { ApiKeyRecord, Tenant } from '../../src/domain/tenant.js';
import type { WarehouseSession } from '../../src/domain/warehouse-session.js';
import type { Page, StateStore } from '../../src/state/port.js';
import { queuedQueryJob } from '../helpers/query-job-fixture.js';

export interface StateUnderTest {
  store: StateStore;
  close(): Promise<void>;
}

export type StateFactory = () => Promise<StateUnderTest>;

const HOUR = 3_600_000;

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected the call to fail');
}

/** Walks every page with `limit` per page; fails on a loop. */
async function allPages<T>(fetch: (cursor: string | undefined) => Promise<Page<T>>): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await fetch(cursor);
    pages.push(page.items);
    cursor = page.nextCursor ?? undefined;
    if (pages.length > 1000) throw new Error('cursor never ends');
  } while (cursor);
  return pages;
}

export function stateContract(name: string, factory: StateFactory): void {
  describe(`StateStore contract: ${name}`, () => {
    let sut: StateUnderTest;
    let store: StateStore;
    const run = `sc${randomBytes(3).toString('hex')}`;
    let seq = 0;
    const id = (what: string) => `${run}-${what}-${++seq}`;

    beforeAll(async () => {
      sut = await factory();
      store = sut.store;
    });
    afterAll(async () => {
      await sut?.close();
    });

    const now = () => new Date().toISOString();

    function tenant(overrides: Partial<Tenant> = {}): Tenant {
      const tenantId = overrides.tenantId ?? id('t');
      return {
        tenantId,
        name: `Tenant ${tenantId}`,
        dbUser: `db_${tenantId.replaceAll('-', '_')}`,
        dbGroups: [],
        status: 'active',
        defaultPermissions: ['query:*', 'bulk:*'],
        createdAt: now(),
        updatedAt: now(),
        ...overrides,
      };
    }

    function apiKey(tenantId: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
      return {
        keyId: randomBytes(8).toString('hex'),
        tenantId,
        secretHash: randomBytes(32).toString('hex'),
        permissions: ['query:*'],
        createdAt: now(),
        expiresAt: null,
        revokedAt: null,
        lastUsedAt: null,
        ...overrides,
      };
    }

    function job(tenantId: string, overrides: Partial<QueryJob> = {}): QueryJob {
      const submittedAt = overrides.submittedAt ?? now();
      return queuedQueryJob(tenantId, {
        jobId: `job-${randomBytes(10).toString('hex')}`,
        plannedSql: 'SELECT 1 LIMIT 10001',
        rowLimit: 10_000,
        submittedAt,
        submittedBy: 'key-contract',
        expiresAt: new Date(Date.parse(submittedAt) + 24 * HOUR).toISOString(),
        ...overrides,
      });
    }

    describe('tenants', () => {
      it('create then get returns the same tenant; an unknown id is null', async () => {
        const t = tenant({ dbGroups: ['analysts'], defaultPermissions: ['query:execute'] });
        await store.tenants.create(t);
        expect(await store.tenants.get(t.tenantId)).toEqual(t);
        expect(await store.tenants.get(id('absent'))).toBeNull();
      });

      it('creating an existing tenant id → CONFLICT, and the first one is kept', async () => {
        const t = tenant();
        await store.tenants.create(t);
        const e = await rejection(store.tenants.create({ ...t, name: 'impostor' }));
        expect(e.code).toBe('CONFLICT');
        expect((await store.tenants.get(t.tenantId))?.name).toBe(t.name);
      });

      it('a second tenant with a db_user already mapped → CONFLICT (two tenants must never share a role)', async () => {
        const first = tenant();
        await store.tenants.create(first);
        const e = await rejection(store.tenants.create(tenant({ dbUser: first.dbUser })));
        expect(e.code).toBe('CONFLICT');
      });

      it('update patches only the given fields and moves updatedAt; an unknown id → NOT_FOUND', async () => {
        const t = tenant({ createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' });
        await store.tenants.create(t);
        const updated = await store.tenants.update(t.tenantId, { status: 'suspended' });
        expect(updated).toEqual({ ...t, status: 'suspended', updatedAt: expect.any(String) });
        expect(updated.updatedAt > t.updatedAt).toBe(true);
        expect(await store.tenants.get(t.tenantId)).toEqual(updated);
        expect((await rejection(store.tenants.update(id('absent'), { status: 'active' }))).code).toBe(
          'NOT_FOUND',
        );
      });

      it('delete removes the tenant; deleting again is harmless', async () => {
        const t = tenant();
        await store.tenants.create(t);
        await store.tenants.delete(t.tenantId);
        expect(await store.tenants.get(t.tenantId)).toBeNull();
        await store.tenants.delete(t.tenantId);
      });

      it('list pages through every tenant exactly once, in a stable order', async () => {
        const mine = [tenant(), tenant(), tenant(), tenant(), tenant()];
        for (const t of mine) await store.tenants.create(t);
        const pages = await allPages((cursor) => store.tenants.list({ limit: 2, cursor }));
        for (const p of pages) expect(p.length).toBeLessThanOrEqual(2);
        const ids = pages.flat().map((t) => t.tenantId);
        expect(new Set(ids).size).toBe(ids.length);
        const seen = ids.filter((i) => mine.some((t) => t.tenantId === i));
        expect(seen.sort()).toEqual(mine.map((t) => t.tenantId).sort());
        const again = (await allPages((cursor) => store.tenants.list({ limit: 3, cursor })))
          .flat()
          .map((t) => t.tenantId);
        expect(again.filter((i) => ids.includes(i))).toEqual(ids.filter((i) => again.includes(i)));
      });

      it('a malformed tenant cursor → INVALID_REQUEST naming the cursor', async () => {
        const e = await rejection(store.tenants.list({ limit: 2, cursor: '%%%' }));
        expect(e.code).toBe('INVALID_REQUEST');
        expect(e.details.field).toBe('cursor');
      });
    });

    describe('api keys (hashes only)', () => {
      let owner: Tenant;
      beforeAll(async () => {
        owner = tenant();
        await store.tenants.create(owner);
      });

      it('create then get by key id; an unknown key id is null', async () => {
        const k = apiKey(owner.tenantId, { expiresAt: new Date(Date.now() + HOUR).toISOString() });
        await store.apiKeys.create(k);
        expect(await store.apiKeys.get(k.keyId)).toEqual(k);
        expect(await store.apiKeys.get(randomBytes(8).toString('hex'))).toBeNull();
      });

      it('listByTenant returns that tenant’s keys only, oldest first', async () => {
        const other = tenant();
        await store.tenants.create(other);
        const keys = [0, 1, 2].map((i) =>
          apiKey(owner.tenantId, { createdAt: new Date(Date.now() - (3 - i) * 1000).toISOString() }),
        );
        for (const k of [keys[2]!, keys[0]!, keys[1]!]) await store.apiKeys.create(k);
        const foreign = apiKey(other.tenantId);
        await store.apiKeys.create(foreign);
        const listed = await store.apiKeys.listByTenant(owner.tenantId);
        expect(listed.every((k) => k.tenantId === owner.tenantId)).toBe(true);
        const mine = listed.filter((k) => keys.some((x) => x.keyId === k.keyId));
        expect(mine).toEqual(keys);
        expect(await store.apiKeys.listByTenant(other.tenantId)).toEqual([foreign]);
      });

      it('deleting a tenant removes its keys: a later tenant of the same id starts with none', async () => {
        const t = tenant();
        await store.tenants.create(t);
        const k = apiKey(t.tenantId);
        await store.apiKeys.create(k);
        await store.tenants.delete(t.tenantId);
        expect(await store.apiKeys.get(k.keyId)).toBeNull();
        await store.tenants.create(t);
        expect(await store.apiKeys.listByTenant(t.tenantId)).toEqual([]);
      });

      it('a key of an absent tenant → NOT_FOUND, nothing stored', async () => {
        const k = apiKey(tenant().tenantId);
        expect((await rejection(store.apiKeys.create(k))).code).toBe('NOT_FOUND');
        expect(await store.apiKeys.get(k.keyId)).toBeNull();
      });

      it('update sets revokedAt / lastUsedAt and clears expiresAt with null, leaving the rest alone', async () => {
        const k = apiKey(owner.tenantId, { expiresAt: new Date(Date.now() + HOUR).toISOString() });
        await store.apiKeys.create(k);
        const at = now();
        await store.apiKeys.update(k.keyId, { revokedAt: at, lastUsedAt: at });
        expect(await store.apiKeys.get(k.keyId)).toEqual({ ...k, revokedAt: at, lastUsedAt: at });
        await store.apiKeys.update(k.keyId, { expiresAt: null });
        expect(await store.apiKeys.get(k.keyId)).toEqual({
          ...k,
          revokedAt: at,
          lastUsedAt: at,
          expiresAt: null,
        });
      });
    });

    describe('jobs', () => {
      let a: string;
      let b: string;
      beforeAll(async () => {
        a = id('jobs-a');
        b = id('jobs-b');
        await store.tenants.create(tenant({ tenantId: a }));
        await store.tenants.create(tenant({ tenantId: b }));
      });

      it('create then get returns the same job, for its own tenant only', async () => {
        const j = job(a, {
          status: 'FAILED',
          error: { code: 'QUERY_FAILED', message: 'division by zero', details: { sqlstate: '22012' } },
          rowCount: 12_345_678_901,
          truncated: false,
          executionTimeMs: 17,
          params: ['x', 1, null, true],
          outputFormat: 'parquet',
        });
        await store.jobs.create(j);
        expect(await store.jobs.get(a, j.jobId)).toStrictEqual(j);
        expect(await store.jobs.get(b, j.jobId)).toBeNull();
        expect(await store.jobs.get(a, 'job-absent')).toBeNull();
      });

      it('an expired job is invisible to get, list and transition', async () => {
        const past = new Date(Date.now() - 2 * HOUR).toISOString();
        const j = job(a, { submittedAt: past, expiresAt: new Date(Date.now() - HOUR).toISOString() });
        await store.jobs.create(j);
        expect(await store.jobs.get(a, j.jobId)).toBeNull();
        const listed = (await allPages((cursor) => store.jobs.list(a, {}, { limit: 50, cursor }))).flat();
        expect(listed.map((x) => x.jobId)).not.toContain(j.jobId);
        expect(
          (await rejection(store.jobs.transition(a, j.jobId, ['QUEUED'], { status: 'RUNNING' }))).code,
        ).toBe('NOT_FOUND');
      });

      it('transition applies the patch only from an allowed status and bumps the version', async () => {
        const j = job(a);
        await store.jobs.create(j);
        const startedAt = now();
        const running = await store.jobs.transition(a, j.jobId, ['QUEUED'], {
          status: 'RUNNING',
          startedAt,
          statementRef: 'pg:1:x',
        });
        expect(running).toEqual({
          ...j,
          status: 'RUNNING',
          startedAt,
          statementRef: 'pg:1:x',
          version: j.version + 1,
        });
        expect(await store.jobs.get(a, j.jobId)).toEqual(running);

        const done = await store.jobs.transition(a, j.jobId, ['RUNNING'], {
          status: 'COMPLETED',
          completedAt: now(),
          rowCount: 3,
          truncated: false,
          executionTimeMs: 5,
        });
        expect(done.version).toBe(j.version + 2);
        expect(done).toMatchObject({ status: 'COMPLETED', rowCount: 3, statementRef: 'pg:1:x' });
      });

      it('transition from a status the job is not in → CONFLICT naming the current status, nothing changed', async () => {
        const j = job(a, { status: 'COMPLETED' });
        await store.jobs.create(j);
        const e = await rejection(
          store.jobs.transition(a, j.jobId, ['QUEUED', 'RUNNING'], { status: 'CANCELLED' }),
        );
        expect(e.code).toBe('CONFLICT');
        expect(e.details.status).toBe('COMPLETED');
        expect(await store.jobs.get(a, j.jobId)).toEqual(j);
      });

      it('transition of an unknown job, or of another tenant’s job → NOT_FOUND', async () => {
        const j = job(a);
        await store.jobs.create(j);
        expect(
          (await rejection(store.jobs.transition(b, j.jobId, ['QUEUED'], { status: 'CANCELLED' }))).code,
        ).toBe('NOT_FOUND');
        expect((await store.jobs.get(a, j.jobId))?.status).toBe('QUEUED');
        expect(
          (await rejection(store.jobs.transition(a, 'job-absent', ['QUEUED'], { status: 'RUNNING' }))).code,
        ).toBe('NOT_FOUND');
      });

      it('of two concurrent transitions from the same status, exactly one wins', async () => {
        const j = job(a);
        await store.jobs.create(j);
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            store.jobs.transition(a, j.jobId, ['QUEUED'], { status: 'RUNNING', statementRef: `worker-${i}` }),
          ),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const o of outcomes)
          if (o.status === 'rejected') expect((o.reason as ApiError).code).toBe('CONFLICT');
        const stored = await store.jobs.get(a, j.jobId);
        expect(stored?.statementRef).toBe((won[0] as PromiseFulfilledResult<QueryJob>).value.statementRef);
        expect(stored?.version).toBe(j.version + 1);
      });

      it('list: newest first, cursor pages cover every job exactly once, status filter applies', async () => {
        const t = id('list');
        await store.tenants.create(tenant({ tenantId: t }));
        const base = Date.now() - 60_000;
        const statuses: JobStatus[] = [
          'COMPLETED',
          'FAILED',
          'COMPLETED',
          'QUEUED',
          'COMPLETED',
          'COMPLETED',
          'FAILED',
        ];
        const jobs = statuses.map((status, i) =>
          job(t, { status, submittedAt: new Date(base + i * 1000).toISOString() }),
        );
        // Inserted out of order: the order comes from submittedAt, not from insertion.
        for (const j of [...jobs].sort(() => Math.random() - 0.5)) await store.jobs.create(j);

        const pages = await allPages((cursor) => store.jobs.list(t, {}, { limit: 3, cursor }));
        expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
        expect(pages.flat()).toEqual([...jobs].reverse());

        const completed = (
          await allPages((cursor) => store.jobs.list(t, { status: 'COMPLETED' }, { limit: 2, cursor }))
        ).flat();
        expect(completed.map((j) => j.jobId)).toEqual(
          jobs
            .filter((j) => j.status === 'COMPLETED')
            .reverse()
            .map((j) => j.jobId),
        );
        const exact = await store.jobs.list(t, {}, { limit: jobs.length });
        expect(exact.items).toHaveLength(jobs.length);
        expect(exact.nextCursor).toBeNull();
      });

      it('list pages jobs submitted in the same instant without skipping or repeating', async () => {
        const t = id('same-instant');
        await store.tenants.create(tenant({ tenantId: t }));
        const at = new Date(Date.now() - 5000).toISOString();
        const jobs = Array.from({ length: 5 }, () => job(t, { submittedAt: at }));
        for (const j of jobs) await store.jobs.create(j);
        const listed = (await allPages((cursor) => store.jobs.list(t, {}, { limit: 2, cursor }))).flat();
        expect(listed.map((j) => j.jobId).sort()).toEqual(jobs.map((j) => j.jobId).sort());
      });

      it('a tenant’s list never shows another tenant’s jobs, even with the other tenant’s cursor', async () => {
        const x = id('iso-x');
        const y = id('iso-y');
        for (const t of [x, y]) await store.tenants.create(tenant({ tenantId: t }));
        const base = Date.now() - 30_000;
        for (let i = 0; i < 4; i++) {
          await store.jobs.create(job(x, { submittedAt: new Date(base + i * 1000).toISOString() }));
          await store.jobs.create(job(y, { submittedAt: new Date(base + i * 1000 + 500).toISOString() }));
        }
        const xs = (await allPages((cursor) => store.jobs.list(x, {}, { limit: 3, cursor }))).flat();
        expect(xs).toHaveLength(4);
        expect(xs.every((j) => j.tenantId === x)).toBe(true);
        const yFirst = await store.jobs.list(y, {}, { limit: 1 });
        const crossed = await store.jobs.list(x, {}, { limit: 10, cursor: yFirst.nextCursor! });
        expect(crossed.items.every((j) => j.tenantId === x)).toBe(true);
      });

      it.each([['%%%'], ['e30'], [Buffer.from('["not a time","job-x"]').toString('base64url')]])(
        'a malformed job cursor (%s) → INVALID_REQUEST naming the cursor',
        async (cursor) => {
          const e = await rejection(store.jobs.list(a, {}, { limit: 2, cursor }));
          expect(e.code).toBe('INVALID_REQUEST');
          expect(e.details.field).toBe('cursor');
        },
      );
    });

    describe('job retention', () => {
      it('hides expired jobs at once and lets the sweeper delete them and forget expired results', async () => {
        const expired = job(`${run}-ret`, {
          status: 'COMPLETED',
          expiresAt: new Date(Date.now() - 1).toISOString(),
        });
        const withResult = job(`${run}-ret`, {
          status: 'COMPLETED',
          result: {
            key: `${run}-ret/x/result-1.ndjson`,
            columns: [],
            expiresAt: new Date(Date.now() - 1).toISOString(),
          },
        });
        await store.jobs.create(expired);
        await store.jobs.create(withResult);
        expect(await store.jobs.get(expired.tenantId, expired.jobId)).toBeNull();
        const results = await store.jobRetention.expiredResults(100);
        expect(results).toContainEqual({
          tenantId: `${run}-ret`,
          jobId: withResult.jobId,
          key: `${run}-ret/x/result-1.ndjson`,
        });
        await store.jobRetention.clearResult(`${run}-ret`, withResult.jobId, `${run}-ret/x/result-1.ndjson`);
        expect((await store.jobs.get(`${run}-ret`, withResult.jobId))?.result).toBeNull();
        const deleted = await store.jobRetention.deleteExpired(100);
        expect(deleted).toContainEqual({ tenantId: `${run}-ret`, jobId: expired.jobId });
      });
    });

    describe('idempotency records', () => {
      const rec = (key: string, owner: string, hash = 'h1', ttlMs = 60_000, lockMs = 60_000) => ({
        tenantId: `${run}-idem`,
        key,
        requestHash: hash,
        owner,
        expiresAt: new Date(Date.now() + ttlMs).toISOString(),
        lockedUntil: new Date(Date.now() + lockMs).toISOString(),
      });

      it('gives a key to exactly one of many concurrent requests', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.idempotency.acquire(rec('k1', `o${i}`))),
        );
        expect(results.filter((r) => r.acquired)).toHaveLength(1);
      });

      it('completes, replays, releases, and lets an expired or abandoned key be taken over', async () => {
        expect((await store.idempotency.acquire(rec('k2', 'a'))).acquired).toBe(true);
        const response = {
          status: 202,
          headers: { 'content-type': 'application/json' },
          body: '{}',
          bodyKey: null,
        };
        expect(await store.idempotency.complete(`${run}-idem`, 'k2', 'b', response)).toBe(false);
        expect(await store.idempotency.complete(`${run}-idem`, 'k2', 'a', response)).toBe(true);
        const taken = await store.idempotency.acquire(rec('k2', 'c'));
        expect(taken.acquired).toBe(false);
        if (!taken.acquired) expect(taken.record).toMatchObject({ state: 'completed', response });

        expect((await store.idempotency.acquire(rec('k3', 'a'))).acquired).toBe(true);
        await store.idempotency.release(`${run}-idem`, 'k3', 'a');
        expect((await store.idempotency.acquire(rec('k3', 'b'))).acquired).toBe(true);

        expect((await store.idempotency.acquire(rec('k4', 'a', 'h1', 60_000, -1))).acquired).toBe(true);
        expect((await store.idempotency.acquire(rec('k4', 'b'))).acquired).toBe(true); // abandoned in progress
        expect((await store.idempotency.acquire(rec('k5', 'a', 'h1', -1))).acquired).toBe(true);
        expect(await store.idempotency.get(`${run}-idem`, 'k5')).toBeNull(); // expired: hidden
        expect((await store.idempotency.acquire(rec('k5', 'b'))).acquired).toBe(true);
        expect((await store.idempotency.acquire(rec('k6', 'a', 'h1', -1))).acquired).toBe(true);
        const swept = await store.idempotency.deleteExpired(100);
        expect(swept.map((r) => r.key)).toContain('k6');
      });
    });

    describe('warehouse sessions', () => {
      const MINUTE = 60_000;
      function session(overrides: Partial<WarehouseSession> = {}): WarehouseSession {
        const t = Date.now();
        return {
          sessionId: randomUUID(),
          tenantId: id('st'),
          dbUser: `u_${randomBytes(4).toString('hex')}`,
          createdAt: t,
          expiresAt: t + 10 * MINUTE,
          ...overrides,
        };
      }
      const claimNow = (
        s: Pick<WarehouseSession, 'tenantId' | 'dbUser'>,
        extra: { aliveUntil?: number } = {},
      ) => {
        const t = Date.now();
        return store.sessions.claim(s.tenantId, s.dbUser, {
          now: t,
          aliveUntil: extra.aliveUntil ?? t + 10_000,
          holdUntil: t + MINUTE,
        });
      };
      /** A session recorded and released: idle, alive for `ttlMs`. */
      async function idle(s: WarehouseSession, ttlMs = 10 * MINUTE): Promise<void> {
        const added = await store.sessions.add(s, Date.now() + MINUTE);
        expect(await store.sessions.release(added, Date.now() + ttlMs)).toBe(true);
      }

      it('a session just added is claimed by its opener; released, it is handed out again', async () => {
        const s = session();
        const added = await store.sessions.add(s, Date.now() + MINUTE);
        expect(added).toMatchObject({ ...s, claimToken: expect.any(String) });
        expect(await claimNow(s)).toEqual({ session: null, live: 1 });
        const until = Date.now() + 5 * MINUTE;
        expect(await store.sessions.release(added, until)).toBe(true);
        const claim = await claimNow(s);
        expect(claim.live).toBe(1);
        expect(claim.session).toMatchObject({
          sessionId: s.sessionId,
          tenantId: s.tenantId,
          dbUser: s.dbUser,
        });
        expect(claim.session!.createdAt).toBe(s.createdAt);
        expect(claim.session!.expiresAt).toBe(until);
        expect(claim.session!.claimToken).not.toBe(added.claimToken);
      });

      it('concurrent claims: one idle session goes to exactly one caller; three to three', async () => {
        const one = session();
        await idle(one);
        const got = await Promise.all(Array.from({ length: 10 }, () => claimNow(one)));
        expect(got.filter((c) => c.session !== null)).toHaveLength(1);
        expect(got.every((c) => c.live === 1)).toBe(true);

        const pair = { tenantId: id('st'), dbUser: 'u_three' };
        const three = [session(pair), session(pair), session(pair)];
        for (const s of three) await idle(s);
        const claims = await Promise.all(Array.from({ length: 10 }, () => claimNow(pair)));
        const ids = claims.flatMap((c) => (c.session ? [c.session.sessionId] : []));
        expect(ids.sort()).toEqual(three.map((s) => s.sessionId).sort());
        expect((await claimNow(pair)).session).toBeNull();
      });

      it('never handed to another tenant or another db user', async () => {
        const s = session();
        await idle(s);
        expect(await claimNow({ tenantId: id('st'), dbUser: s.dbUser })).toEqual({ session: null, live: 0 });
        expect(await claimNow({ tenantId: s.tenantId, dbUser: `${s.dbUser}x` })).toEqual({
          session: null,
          live: 0,
        });
        // A db user whose name extends another's with the key separator is still another user.
        expect(await claimNow({ tenantId: s.tenantId, dbUser: `${s.dbUser}#x` })).toEqual({
          session: null,
          live: 0,
        });
        expect((await claimNow(s)).session?.sessionId).toBe(s.sessionId);
      });

      it('an expired session, or one that expires before `aliveUntil`, is not handed out', async () => {
        const pair = { tenantId: id('st'), dbUser: 'u_expiry' };
        await idle(session(pair), 3_000);
        const claim = await claimNow(pair, { aliveUntil: Date.now() + 10_000 });
        expect(claim).toEqual({ session: null, live: 1 });
        const t = Date.now() + 5_000;
        expect(
          await store.sessions.claim(pair.tenantId, pair.dbUser, {
            now: t,
            aliveUntil: t,
            holdUntil: t + MINUTE,
          }),
        ).toEqual({ session: null, live: 0 });
      });

      it('release caps the expiry at 24 h after the session was opened', async () => {
        const s = session({ createdAt: Date.now() - 24 * HOUR + 2 * MINUTE });
        await idle(s, 60 * MINUTE);
        expect((await claimNow(s)).session!.expiresAt).toBe(s.createdAt + 24 * HOUR);
      });

      it('a lapsed claim can be taken over; the old holder can no longer release it', async () => {
        const s = session();
        const added = await store.sessions.add(s, Date.now() - 1);
        const taken = await claimNow(s);
        expect(taken.session?.sessionId).toBe(s.sessionId);
        expect(await store.sessions.release(added, Date.now() + MINUTE)).toBe(false);
        expect(await store.sessions.release(taken.session!, Date.now() + MINUTE)).toBe(true);
        expect(await store.sessions.release(taken.session!, Date.now() + MINUTE)).toBe(false);
      });

      it('a dropped session is gone: not claimed, not counted, not releasable', async () => {
        const s = session();
        const added = await store.sessions.add(s, Date.now() + MINUTE);
        await store.sessions.drop(s);
        expect(await claimNow(s)).toEqual({ session: null, live: 0 });
        expect(await store.sessions.release(added, Date.now() + MINUTE)).toBe(false);
        expect(await claimNow(s)).toEqual({ session: null, live: 0 });
      });

      it('live counts claimed and idle sessions of the pair, the most recently used is claimed first', async () => {
        const pair = { tenantId: id('st'), dbUser: 'u_live' };
        const older = session(pair);
        const newer = session(pair);
        await idle(older, 5 * MINUTE);
        await idle(newer, 8 * MINUTE);
        await store.sessions.add(session(pair), Date.now() + MINUTE);
        const first = await claimNow(pair);
        expect([first.session?.sessionId, first.live]).toEqual([newer.sessionId, 3]);
        expect((await claimNow(pair)).session?.sessionId).toBe(older.sessionId);
        expect(await claimNow(pair)).toEqual({ session: null, live: 3 });
      });
    });
  });
}
