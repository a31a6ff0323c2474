/**
 * Issue 9 acceptance, overload: with a tiny warehouse pool busy with slow statements, further sync
 * queries get a fast 503 WAREHOUSE_UNAVAILABLE with Retry-After (not a growing queue), and the
 * service recovers when the load drops. A tenant at its optional hard cap (SPECTRA_MAX_CONCURRENT_QUERIES)
 * gets 429 while other tenants still run; fair sharing without a cap is in query-fair-share.test.ts.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { adminClient } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { waitFor } from '../helpers/time.js';

/** Runs until its timeout on any machine: ~10^13 rows (the guard blocks pg_sleep; with index-backed RLS two sales were done in under 10 s). */
const SLOW_SQL = 'SELECT count(*) AS n FROM sales a CROSS JOIN sales b CROSS JOIN sales c';
/** Long enough that a slow machine still sends the next requests while these hold their slots. */
const SLOW_SECONDS = 10;

/** Until `n` sync queries hold admission slots (the slow ones started). */
async function slotsInUse(spectra: TestSpectra, n: number): Promise<void> {
  await waitFor(() => spectra.core.observability.admission.stats.running >= n, {
    what: `${n} queries running`,
  });
}

describe('overload protection', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra({
      SPECTRA_WAREHOUSE_POOL_SIZE: '2',
      SPECTRA_MAX_CONCURRENT_QUERIES: '0',
      SPECTRA_QUERY_QUEUE_SIZE: '2',
      SPECTRA_QUERY_QUEUE_WAIT_MS: '300',
    });
  });
  afterAll(async () => {
    await spectra?.close();
  });

  it('answers fast 503s with Retry-After while the pool is saturated, and recovers', async () => {
    const slow = [
      spectra.query('acme', { sql: SLOW_SQL, timeout_seconds: SLOW_SECONDS }),
      spectra.query('globex', { sql: SLOW_SQL, timeout_seconds: SLOW_SECONDS }),
    ];
    let slowEnded = false;
    for (const p of slow) void p.finally(() => (slowEnded = true));
    await slotsInUse(spectra, 2);
    const burst = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await spectra.query('initech', { sql: 'SELECT 1 AS one' });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await json(res) };
      }),
    );
    expect(burst.map((r) => r.status)).toEqual(Array(8).fill(503));
    expect(burst[0]!.body.error.code).toBe('WAREHOUSE_UNAVAILABLE');
    expect(Number(burst[0]!.retryAfter)).toBeGreaterThanOrEqual(1);
    // Refused after the queue wait (300 ms), not when the slow statements end.
    expect(slowEnded).toBe(false);

    const slowResults = await Promise.all(slow);
    expect(slowResults.map((r) => r.status)).toEqual([504, 504]);
    const after = await spectra.query('initech', { sql: 'SELECT 1 AS one' });
    expect(after.status).toBe(200);
  });
});

describe('optional per-tenant hard cap', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra({
      SPECTRA_WAREHOUSE_POOL_SIZE: '4',
      SPECTRA_MAX_CONCURRENT_QUERIES: '1',
      SPECTRA_QUERY_QUEUE_WAIT_MS: '200',
    });
  });
  afterAll(async () => {
    await spectra?.close();
  });

  it('gives the tenant over its share 429 while another tenant runs', async () => {
    const slow = spectra.query('acme', { sql: SLOW_SQL, timeout_seconds: SLOW_SECONDS });
    await slotsInUse(spectra, 1);
    const second = await spectra.query('acme', { sql: 'SELECT 1 AS one' });
    expect(second.status).toBe(429);
    const body = await json(second);
    expect(body.error).toMatchObject({ code: 'RATE_LIMITED', details: { reason: 'concurrency', limit: 1 } });
    expect(second.headers.get('retry-after')).toBe('1');
    const other = await spectra.query('globex', { sql: 'SELECT 1 AS one' });
    expect(other.status).toBe(200);
    expect((await slow).status).toBe(504);
  });

  it('does not hold a slot for async submissions', async () => {
    const slow = spectra.query('acme', { sql: SLOW_SQL, timeout_seconds: SLOW_SECONDS });
    await slotsInUse(spectra, 1);
    const submitted = await spectra.query('acme', { sql: 'SELECT 1 AS one', async: true });
    expect(submitted.status).not.toBe(429);
    await submitted.arrayBuffer();
    await slow;
  });
});

describe('refused in the HTTP listener once the queue is full (the overload shed)', () => {
  const SHED_LINE = 'overload: sync queries refused before parsing (every slot in use, queue full)';
  let spectra: TestSpectra;
  let admin: pg.Client;
  const lines: string[] = [];
  beforeAll(async () => {
    admin = await adminClient();
    await admin.query(
      'DROP TABLE IF EXISTS shed_gate; CREATE TABLE shed_gate (x int); INSERT INTO shed_gate VALUES (1)',
    );
    await admin.query('GRANT SELECT ON shed_gate TO tenant_acme');
    spectra = await startSpectra(
      {
        SPECTRA_WAREHOUSE_POOL_SIZE: '1',
        SPECTRA_QUERY_QUEUE_SIZE: '1',
        SPECTRA_QUERY_QUEUE_WAIT_MS: '120000',
      },
      { log: createLogger('warn', { write: (line: string) => void lines.push(line) }) },
    );
  });
  afterAll(async () => {
    await spectra?.close();
    await admin?.query('DROP TABLE IF EXISTS shed_gate');
    await admin?.end();
  });

  it('answers as the app would, with no audit entry, summed up in warn lines; async submissions still pass', async () => {
    const admission = spectra.core.observability.admission;
    // The one slot held by a statement blocked on a lock the test holds, and the queue of one full.
    const gate = await adminClient();
    await gate.query('BEGIN; LOCK TABLE shed_gate IN ACCESS EXCLUSIVE MODE');
    const running = spectra.query('acme', { sql: 'SELECT x FROM shed_gate' });
    await waitFor(() => admission.stats.running === 1, { what: 'the gated query to hold the slot' });
    const waiting = spectra.query('acme', { sql: 'SELECT x FROM shed_gate' });
    await waitFor(() => admission.stats.queued === 1, { what: 'the queue to fill' });
    const startedAt = new Date().toISOString();

    // The shed acts only on a key verified within the last second: verify it, then ask at once,
    // until a summary line shows requests were shed (a slow machine may take the app's path first).
    const shedCount = () =>
      lines
        .map((l) => JSON.parse(l))
        .filter((l) => l.msg === SHED_LINE)
        .reduce((n, l) => n + (l.shed as number), 0);
    const refused: string[] = [];
    await waitFor(
      async () => {
        await spectra.core.authenticate(spectra.keys.acme!);
        const res = await spectra.query('acme', { sql: 'SELECT 1 AS one' });
        const body = await json(res);
        expect(res.status).toBe(503);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(res.headers.get('x-request-id')).toBe(body.error.request_id);
        expect(body.error).toMatchObject({
          code: 'WAREHOUSE_UNAVAILABLE',
          details: { reason: 'overloaded' },
        });
        refused.push(body.error.request_id);
        return shedCount() > 0;
      },
      { what: 'a request shed in the listener' },
    );

    // An async submission only enqueues a job: never refused for want of a slot.
    await spectra.core.authenticate(spectra.keys.acme!);
    const submitted = await spectra.query('acme', { sql: 'SELECT 1 AS one', async: true });
    expect(submitted.status).toBe(202);
    await submitted.arrayBuffer();

    await gate.query('COMMIT');
    await gate.end();
    expect((await running).status).toBe(200);
    expect((await waiting).status).toBe(200);

    // Every refusal is either audited (the app's path) or counted in a summary line (the shed's).
    const auditedIds = async () => {
      await spectra.core.observability.auditWriter?.flush();
      const res = await spectra.request(
        `/v1/admin/audit?tenant_id=acme&since=${encodeURIComponent(startedAt)}&limit=1000`,
        { key: spectra.adminKey },
      );
      return new Set(((await json(res)).entries as { request_id: string }[]).map((e) => e.request_id));
    };
    let notAudited = 0;
    await waitFor(
      async () => {
        const audited = await auditedIds();
        notAudited = refused.filter((id) => !audited.has(id)).length;
        return notAudited === shedCount();
      },
      { what: 'each refusal audited or summed up' },
    );
    expect(notAudited).toBeGreaterThan(0);
  });
});
