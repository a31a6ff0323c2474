/**
 * Under load and under timeouts: 1,000 requests in flight at once across the three tenants, each
 * answered with only its own tenant's rows; a runaway statement cut at its timeout and gone from
 * the warehouse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { waitFor } from '../helpers/time.js';

const TENANTS = ['acme', 'globex', 'initech'] as const;

let spectra: TestSpectra;
beforeAll(async () => {
  // Every request in flight at once: no rate limit; admission control on its defaults queues them all.
  spectra = await startSpectra({ SPECTRA_RATE_LIMIT_PER_MINUTE: '0' });
});
afterAll(async () => {
  await spectra?.close();
});

describe('concurrency', () => {
  it('1,000 concurrent requests interleaved across 3 tenants: every response holds only its tenant’s rows', async () => {
    const requests = Array.from({ length: 1000 }, (_, i) => {
      const tenant = TENANTS[i % 3]!;
      // Vary the statement so the plan cache and the pool see different work.
      const sql =
        i % 2 === 0
          ? 'SELECT tenant_id, customer_id, current_user AS who FROM customers ORDER BY customer_id LIMIT :n'
          : 'SELECT tenant_id, sale_id, current_user AS who FROM sales WHERE sale_id % 7 = :n LIMIT 20';
      return { tenant, body: { sql, params: { n: (i % 5) + 1 } } };
    });
    const responses = await Promise.all(
      requests.map(async ({ tenant, body }) => {
        const res = await spectra.query(tenant, body);
        return { tenant, status: res.status, body: await json(res) };
      }),
    );
    const failures = responses.filter((r) => r.status !== 200);
    expect(failures.slice(0, 3)).toEqual([]);
    let rows = 0;
    for (const r of responses) {
      const data = r.body.data as { tenant_id: string; who: string }[];
      rows += data.length;
      for (const row of data) {
        expect(row.tenant_id).toBe(r.tenant);
        expect(row.who).toBe(`tenant_${r.tenant}`);
      }
    }
    expect(rows).toBeGreaterThan(1000);
  });
});

describe('timeout', () => {
  // The statement runs for minutes: a 504 at all shows the 1 s limit ended it (a speed budget would not hold on a busy machine).
  it('a query that would run for minutes with timeout_seconds 1 → 504 QUERY_TIMEOUT, and is gone from pg_stat_activity', async () => {
    const t0 = performance.now();
    const res = await spectra.query('acme', {
      sql: 'SELECT count(*) FROM sales AS runaway_a, sales AS runaway_b',
      timeout_seconds: 1,
    });
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(504);
    const body = await json(res);
    expect(body.error).toMatchObject({ code: 'QUERY_TIMEOUT', details: { timeout_seconds: 1 } });
    expect(elapsed).toBeGreaterThanOrEqual(900);

    const admin = await adminClient();
    try {
      await waitFor(
        async () => {
          const { rows } = await admin.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE query LIKE '%runaway_a%' AND state <> 'idle' AND pid <> pg_backend_pid()`,
          );
          return rows[0].n === 0;
        },
        { what: 'the timed-out statement to leave pg_stat_activity' },
      );
    } finally {
      await admin.end();
    }

    const jobs = await json(await spectra.request('/v1/jobs?status=FAILED&limit=20', { tenant: 'acme' }));
    const job = jobs.jobs.find((j: { sql: string }) => j.sql.includes('runaway_a'));
    expect(job).toMatchObject({ status: 'FAILED', error: { code: 'QUERY_TIMEOUT' } });

    // The connection that timed out serves the next request as the right tenant.
    const after = await json(await spectra.query('globex', { sql: 'SELECT current_user AS who' }));
    expect(after.data).toEqual([{ who: 'tenant_globex' }]);
  });

  it('a client that goes away mid-query gets its statement cancelled in the warehouse', async () => {
    const abort = new AbortController();
    const pending = fetch(`${spectra.url}/v1/queries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${spectra.keys.globex}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        sql: 'SELECT count(*) FROM sales AS gone_a, sales AS gone_b',
        timeout_seconds: 60,
      }),
      signal: abort.signal,
    }).catch(() => undefined);
    const admin = await adminClient();
    try {
      const running = async () =>
        (
          await admin.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%gone_a%' AND state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
          )
        ).rows[0].n as number;
      await waitFor(async () => (await running()) === 1, { what: 'the statement to run' });
      abort.abort();
      await pending;
      await waitFor(async () => (await running()) === 0, { what: 'the statement to be cancelled' });
    } finally {
      await admin.end();
    }
  });
});
