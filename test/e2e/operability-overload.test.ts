/**
 * Issue 9 acceptance, overload: with a tiny warehouse pool busy with slow statements, further sync
 * queries get a fast 503 WAREHOUSE_UNAVAILABLE with Retry-After (not a growing queue), and the
 * service recovers when the load drops. A tenant at its optional hard cap (SPECTRA_MAX_CONCURRENT_QUERIES)
 * gets 429 while other tenants still run; fair sharing without a cap is in query-fair-share.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
