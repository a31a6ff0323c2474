/**
 * Acceptance (issue 5): a query producing 2,000,000 rows runs as an async job in a separate
 * `spectra worker` process whose peak RSS stays ≤ 250 MB; every row is readable by paging and by
 * download, and the rows' count and checksum match what the warehouse computes itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FsResultStore } from '../../src/storage/fs/index.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { pgFacts } from '../helpers/pg-fixture.js';
import { json, pgUrl, startSpectra, type TestSpectra } from '../helpers/spectra.js';

const ROWS = 2_000_000;
const SQL = `SELECT g AS n, md5(CAST(g AS text)) AS h FROM generate_series(1, ${ROWS}) AS g ORDER BY g`;
const CHECK_SQL =
  `SELECT count(*) AS rows, md5(string_agg(md5(CAST(g AS text)), '' ORDER BY g)) AS digest ` +
  `FROM generate_series(1, ${ROWS}) AS g`;
const MAX_RSS_BYTES = 250 * 1024 * 1024;
const ROOT = path.resolve(import.meta.dirname, '../..');

let spectra: TestSpectra;
let control: ControlDb;
let worker: ChildProcess;
let workerLog = '';

beforeAll(async () => {
  const f = pgFacts();
  control = await createControlDb('large');
  spectra = await startSpectra({ SPECTRA_STATE_URL: control.url });
  worker = spawn(
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
      '--result-dir',
      (spectra.core.results as FsResultStore).root,
      '--log-level',
      'warn',
    ],
    { cwd: ROOT, env: { ...process.env, SPECTRA_JOB_LEASE_SECONDS: '5' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  worker.stderr!.on('data', (d) => {
    workerLog = (workerLog + d).slice(-4000);
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    worker.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('worker started')) resolve();
    });
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${workerLog}`)));
  });
});

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await spectra?.close();
  await control?.drop();
});

/** Peak resident set size of a process (Linux), in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error('no VmHWM in /proc status');
  return Number(kb) * 1024;
}

describe('a 2,000,000-row async job', () => {
  it('runs in a worker process with bounded memory; paging and download both return every row', async () => {
    const expected = await json(await spectra.query('acme', { sql: CHECK_SQL }));
    expect(expected.data[0].rows).toBe(ROWS);
    const digest: string = expected.data[0].digest;

    const submitted = await json(await spectra.query('acme', { sql: SQL, async: true }));
    const id: string = submitted.job_id;
    let sawProgress = false;
    let job = submitted;
    const deadline = Date.now() + 120_000;
    while (job.status !== 'COMPLETED') {
      expect(job.status).not.toMatch(/FAILED|CANCELLED/);
      if (Date.now() > deadline) throw new Error(`still ${job.status}: ${workerLog}`);
      await new Promise((r) => setTimeout(r, 100));
      job = await json(await spectra.request(`/v1/jobs/${id}`, { tenant: 'acme' }));
      if (job.status === 'RUNNING' && job.rows_fetched > 0 && job.rows_fetched < ROWS) sawProgress = true;
    }
    expect(sawProgress).toBe(true);
    expect(job.row_count).toBe(ROWS);
    const rss = await peakRss(worker.pid!);
    expect(rss).toBeLessThanOrEqual(MAX_RSS_BYTES);

    // Paging: 10,000 rows a page, in order.
    const paged = createHash('md5');
    let n = 0;
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `?limit=10000&cursor=${encodeURIComponent(cursor)}` : '?limit=10000';
      const page = await json(await spectra.request(`/v1/jobs/${id}/results${q}`, { tenant: 'acme' }));
      for (const row of page.data) {
        n++;
        if (row.n !== n) throw new Error(`row ${n} is ${row.n}`);
        paged.update(row.h);
      }
      cursor = page.next_cursor;
    } while (cursor);
    expect(n).toBe(ROWS);
    expect(paged.digest('hex')).toBe(digest);

    // Download: gzip CSV, converted from the stored result as a stream.
    const d = await json(
      await spectra.request(`/v1/jobs/${id}/results?format=csv&compression=gzip`, { tenant: 'acme' }),
    );
    expect(d).toMatchObject({ format: 'csv', compression: 'gzip', row_count: ROWS });
    const res = await fetch(d.download_url);
    expect(res.status).toBe(200);
    const lines = createInterface({
      input: Readable.fromWeb(res.body as never).pipe(createGunzip()),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    const downloaded = createHash('md5');
    let header: string | undefined;
    let rows = 0;
    for await (const line of lines) {
      if (header === undefined) {
        header = line;
        continue;
      }
      rows++;
      downloaded.update(line.slice(line.indexOf(',') + 1));
    }
    expect(header).toBe('n,h');
    expect(rows).toBe(ROWS);
    expect(downloaded.digest('hex')).toBe(digest);
    console.info(
      `2,000,000-row job: worker peak RSS ${(rss / 2 ** 20).toFixed(0)} MB, result ${job.size_bytes} bytes`,
    );
  }, 180_000);
});
