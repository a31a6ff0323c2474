/**
 * Acceptance (issue 6): `kill -9` of the worker process in the middle of an import leaves the
 * table unchanged, and the job is retried cleanly once its lease expires. Deterministic: a lock
 * held by the test stops the import at its final write (everything staged, counters moved), the
 * worker — a real `spectra worker` child process — is killed there, and only then is the lock
 * released. The file is the 1,000,000 records (~12 s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { bulkClient } from '../helpers/bulk.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { adminClient, pgFacts } from '../helpers/pg-fixture.js';
import { pgUrl, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { createTenantTable, type TenantTable } from '../helpers/tenant-tables.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RECORDS = 1_000_000;

let spectra: TestSpectra;
let control: ControlDb;
let table: TenantTable;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  control = await createControlDb('bulk_kill');
  spectra = await startSpectra({
    SPECTRA_STATE_URL: control.url,
    SPECTRA_JOB_LEASE_SECONDS: '2',
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
  });
  table = await createTenantTable('kill', 'id integer NOT NULL, name text, score numeric(8,2)', 'id');
  await table.admin(
    `INSERT INTO public.${table.name} (tenant_id, id, name) SELECT 'acme', g, 'before' FROM generate_series(1, 100) g`,
  );
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await spectra?.close();
  await control?.drop();
  await table?.drop();
});

/** `spectra worker` on the same PostgreSQL, state database and SPECTRA_HOME (result files, signing key). */
function startWorkerProcess(): Promise<ChildProcess> {
  const f = pgFacts();
  const child = spawn(
    process.execPath,
    [
      'bin/spectra.js',
      'worker',
      '--home',
      spectra.core.config.home,
      '--warehouse-url',
      pgUrl(f.authenticator.user, f.authenticator.password, f.warehouseDb),
      '--state-url',
      control.url,
      '--log-level',
      'warn',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, SPECTRA_JOB_LEASE_SECONDS: '2', SPECTRA_WORKER_POLL_INTERVAL_MS: '200' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('worker started')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${err.slice(-2000)}`)));
  });
}

const checksum = () =>
  table.admin<{ n: number; md5: string }>(
    `SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY tenant_id, id)) AS md5 FROM public.${table.name} t`,
  );

it('kill -9 of the worker mid-import leaves the table unchanged; the job is retried cleanly after its lease', async () => {
  const bulk = bulkClient(spectra);
  const before = await checksum();
  const locker = await adminClient();
  const watcher = await adminClient();
  const label = (jobId: string, where: string) =>
    watcher
      .query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE '%' || $1 AND ${where}`,
        [jobId],
      )
      .then((r) => r.rows[0].n as number);
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE public.${table.name} IN SHARE MODE`);
    worker = await startWorkerProcess();
    const file = `id,name,score\n${Array.from({ length: RECORDS }, (_, i) => `${i + 1},after ${i + 1},${i % 1000}.5`).join('\n')}\n`;
    const job = await bulk.create('acme', {
      operation: 'upsert',
      object: table.name,
      external_id_field: 'id',
    });
    await bulk.upload('acme', job.job_id, file);
    await bulk.patch('acme', job.job_id, 'UploadComplete');

    const deadline = Date.now() + 90_000;
    while ((await label(job.job_id, "wait_event_type = 'Lock'")) === 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 25));
    }
    // Mid-import: everything staged, the counters moved, the final write waiting.
    let running = await bulk.get('acme', job.job_id);
    while (running.number_records_processed < RECORDS) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
      running = await bulk.get('acme', job.job_id);
    }
    expect(running.state).toBe('InProgress');
    // On a starved machine the worker can lose its own lease and claim the job again before this point.
    const attemptsAtKill: number = running.attempts;
    expect(attemptsAtKill).toBeGreaterThanOrEqual(1);

    worker.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    await locker.query('ROLLBACK');
    // The orphaned backend finds its client gone at its next write to the socket; its transaction rolls back.
    while ((await label(job.job_id, 'true')) > 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await checksum()).toEqual(before);

    // A worker in the API process takes the job over once the dead one's lease expired.
    await startJobWorker(spectra.core);
    const done = await bulk.waitFor('acme', job.job_id, ['JobComplete', 'Failed'], 90_000);
    expect(done).toMatchObject({
      state: 'JobComplete',
      attempts: attemptsAtKill + 1,
      number_records_processed: RECORDS,
      number_records_failed: 0,
    });
    const after = await table.admin<{ n: number; changed: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE name LIKE 'after %')::int AS changed FROM public.${table.name}`,
    );
    expect(after).toEqual([{ n: RECORDS, changed: RECORDS }]);
    // Only the successful attempt's files remain.
    const files = await readdir(path.join(spectra.core.config.home, 'results', 'acme', job.job_id));
    expect(files.sort()).toEqual(['failed-2.csv', 'upload.csv']);
  } finally {
    await locker.query('ROLLBACK').catch(() => {});
    await locker.end();
    await watcher.end();
  }
});
