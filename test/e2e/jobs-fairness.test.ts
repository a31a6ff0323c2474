/**
 * Fair scheduling (issue 5 "Fairness and limits"): one tenant's 1,000 queued jobs do not starve
 * another tenant's single job, and a tenant's cap on RUNNING jobs holds. Real HTTP, real worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { adminClient } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { WAIT_TIMEOUT_MS, waitFor } from '../helpers/time.js';

/** About 50–100 ms of warehouse work. */
const WORK_SQL = 'SELECT count(*) AS n FROM (SELECT generate_series(1, 700000) AS g) s';

let spectra: TestSpectra;
let control: ControlDb;

beforeAll(async () => {
  control = await createControlDb('fair');
  spectra = await startSpectra({
    SPECTRA_STATE_URL: control.url,
    SPECTRA_WORKER_CONCURRENCY: '2',
    SPECTRA_TENANT_MAX_RUNNING_JOBS: '5',
    SPECTRA_TENANT_MAX_RUNNING_JOBS_OVERRIDES: 'initech=1',
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
    SPECTRA_SHUTDOWN_GRACE_SECONDS: '0',
  });
});
afterAll(async () => {
  await spectra?.close();
  await control?.drop();
});

async function submitMany(tenant: string, n: number, parallel = 16): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        next++;
        const res = await spectra.query(tenant, { sql: WORK_SQL, async: true });
        expect(res.status).toBe(202);
        ids.push((await json(res)).job_id);
      }
    }),
  );
  return ids;
}

async function runningCounts(): Promise<Record<string, number>> {
  const c = await adminClient(control.name);
  try {
    const r = await c.query(
      `SELECT tenant_id, count(*)::int AS n FROM query_jobs WHERE status = 'RUNNING' GROUP BY tenant_id`,
    );
    return Object.fromEntries(r.rows.map((row) => [row.tenant_id, row.n]));
  } finally {
    await c.end();
  }
}

describe('fair claim order and per-tenant caps', () => {
  it('starts a tenant’s single job within one slot turnaround while another tenant has 1,000 queued', async () => {
    // Queue first, then start the worker: acme's 1,000 jobs are all waiting when globex submits.
    await submitMany('acme', 1000);
    await startJobWorker(spectra.core);
    await expect
      .poll(async () => (await runningCounts()).acme ?? 0, { timeout: WAIT_TIMEOUT_MS, interval: 20 })
      .toBe(2);

    const res = await spectra.query('globex', { sql: WORK_SQL, async: true });
    const { job_id: id } = await json(res);
    let job = await json(await spectra.request(`/v1/jobs/${id}`, { tenant: 'globex' }));
    await expect
      .poll(
        async () => {
          job = await json(await spectra.request(`/v1/jobs/${id}`, { tenant: 'globex' }));
          return job.status;
        },
        { timeout: WAIT_TIMEOUT_MS, interval: 10 },
      )
      .toBe('COMPLETED');
    // One turnaround, counted in claims rather than milliseconds: while globex waited, each of the
    // two slots started at most one acme job (one already being claimed when globex arrived).
    const c = await adminClient(control.name);
    try {
      const r = await c.query(
        `SELECT count(*)::int AS n FROM query_jobs WHERE tenant_id = 'acme' AND started_at > $1 AND started_at < $2`,
        [job.submitted_at, job.started_at],
      );
      expect(r.rows[0].n).toBeLessThanOrEqual(2);
    } finally {
      await c.end();
    }
    // acme is far from done: globex did not wait behind its queue.
    const queued = await json(await spectra.request('/v1/jobs?status=QUEUED&limit=100', { tenant: 'acme' }));
    expect(queued.jobs).toHaveLength(100);
  });

  it('never runs more of a tenant’s jobs than its cap, however many it queues', async () => {
    const ids = await submitMany('initech', 6);
    // Sampled from submission until all six are done (however long a slow machine takes).
    let maxSeen = 0;
    const statuses = () =>
      Promise.all(
        ids.map(
          async (id) => (await json(await spectra.request(`/v1/jobs/${id}`, { tenant: 'initech' }))).status,
        ),
      );
    await waitFor(async () => {
      maxSeen = Math.max(maxSeen, (await runningCounts()).initech ?? 0);
      return (await statuses()).every((s) => s === 'COMPLETED');
    });
    expect(maxSeen).toBe(1);
  });
});
