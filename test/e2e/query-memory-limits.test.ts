/**
 * Issue 16, defects 1 and 2: no query can take the process down by the size of its result. Over
 * real HTTP: the red-team statements get a 4xx and the server keeps serving every tenant; a row
 * over SPECTRA_MAX_ROW_BYTES is a 413 in every delivery; the byte cap cuts sync results while they
 * stream; concurrent large queries finish truncated or with 503, never a crash; and a server in a
 * child process with a small heap keeps its peak RSS (VmHWM) under a stated bound while they run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { pgFacts } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

const MiB = 1 << 20;
const ROOT = path.resolve(import.meta.dirname, '../..');
const ONE_MB_ROWS = `SELECT g, repeat('x', 1000000) AS w FROM generate_series(1, 1600) AS g`;
const RED_TEAM_ROW = `SELECT repeat('x', 600000000) AS huge`;
const RED_TEAM_ROWS = `SELECT g, repeat('x', 200000000) FROM generate_series(1, 25) AS g`;

describe('red-team statements on default settings', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra();
  });
  afterAll(() => spectra?.close());

  // PostgreSQL itself needs up to half a minute for repeat('x', 600000000) on a loaded machine.
  it.each([RED_TEAM_ROW, RED_TEAM_ROWS])(
    '%s → 413 naming the limit, and every tenant is still served',
    { timeout: 300_000 },
    async (sql) => {
      const res = await spectra.query('acme', { sql });
      expect(res.status).toBe(413);
      const body = await json(res);
      expect(body.error.code).toBe('RESULT_TOO_LARGE');
      expect(body.error.details).toMatchObject({
        reason: 'row_too_large',
        max_row_bytes: 16 * MiB,
        setting: 'SPECTRA_MAX_ROW_BYTES',
      });
      for (const tenant of ['acme', 'globex']) {
        const ok = await spectra.query(tenant, { sql: 'SELECT 1 AS one' });
        expect(ok.status).toBe(200);
        expect((await json(ok)).data).toEqual([{ one: 1 }]);
      }
    },
  );
});

describe('limits on a server with a 1 MiB row limit and a 24 MiB result budget', () => {
  let spectra: TestSpectra;
  let control: ControlDb;
  beforeAll(async () => {
    // A control database of its own: no other test's worker (with other limits) claims these jobs.
    control = await createControlDb('memory_limits_e2e');
    spectra = await startSpectra({
      SPECTRA_STATE_URL: control.url,
      SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
      SPECTRA_MAX_ROW_BYTES: String(MiB),
      SPECTRA_RESULT_MEMORY_BYTES: String(24 * MiB),
      SPECTRA_MAX_RESULT_BYTES: String(4 * MiB),
    });
    await startJobWorker(spectra.core);
  });
  afterAll(async () => {
    await spectra?.close();
    await control?.drop();
  });

  const bigRow = `SELECT 1 AS a, repeat('x', 3 * 1024 * 1024) AS big`;

  it.each([
    ['JSON', {}],
    ['NDJSON', { accept: 'application/x-ndjson' }],
    ['CSV', { accept: 'text/csv' }],
  ])('a row over the limit is a 413 before any byte of it is read: %s', async (_name, headers) => {
    const res = await spectra.query('acme', { sql: bigRow }, headers);
    expect(res.status).toBe(413);
    expect((await json(res)).error.details.max_row_bytes).toBe(MiB);
  });

  it('an async job with a row over the limit FAILS with the same error', async () => {
    const submitted = await spectra.query('acme', { sql: bigRow, async: true });
    expect(submitted.status).toBe(202);
    const { job_id } = await json(submitted);
    let job: { status: string; error: { code: string } | null } | undefined;
    for (let i = 0; i < 400; i++) {
      job = await json(await spectra.request(`/v1/jobs/${job_id}`, { tenant: 'acme' }));
      if (job!.status === 'FAILED' || job!.status === 'COMPLETED') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(job!.status).toBe('FAILED');
    expect(job!.error!.code).toBe('RESULT_TOO_LARGE');
  });

  it('an async job keeps every row of a result larger than the whole budget', async () => {
    const submitted = await spectra.query('acme', {
      sql: `SELECT g, repeat('x', 200000) AS w FROM generate_series(1, 300) AS g`,
      async: true,
    });
    const { job_id } = await json(submitted);
    let job: { status: string; row_count: number | null; truncated: boolean | null } | undefined;
    for (let i = 0; i < 1200; i++) {
      job = await json(await spectra.request(`/v1/jobs/${job_id}`, { tenant: 'acme' }));
      if (job!.status === 'FAILED' || job!.status === 'COMPLETED') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(job).toMatchObject({ status: 'COMPLETED', row_count: 300, truncated: false });
  });

  it('the byte cap cuts a JSON result while it streams: truncated, at most the cap', async () => {
    const res = await spectra.query('acme', {
      sql: `SELECT g, repeat('x', 500000) AS w FROM generate_series(1, 300) AS g`,
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.length).toBeLessThanOrEqual(4 * MiB + 4096);
    const body = JSON.parse(text);
    expect(body.metadata.truncated).toBe(true);
    expect(body.metadata.row_count).toBeGreaterThan(0);
    expect(body.metadata.row_count).toBeLessThan(9);
    expect(body.data.map((r: { g: number }) => r.g)).toEqual(
      Array.from({ length: body.metadata.row_count }, (_, i) => i + 1),
    );
  });

  it('the byte cap cuts an NDJSON stream the same way, and the job records it as truncated', async () => {
    const res = await spectra.query(
      'acme',
      { sql: `SELECT g, repeat('x', 500000) AS w FROM generate_series(1, 300) AS g` },
      { accept: 'application/x-ndjson' },
    );
    expect(res.status).toBe(200);
    const lines = (await res.text()).split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(9);
    const job = await json(
      await spectra.request(`/v1/jobs/${res.headers.get('x-spectra-job-id')}`, { tenant: 'acme' }),
    );
    expect(job).toMatchObject({ status: 'COMPLETED', truncated: true, row_count: lines.length });
  });

  it('six concurrent queries of 1,600 rows × 1 MB all answer 200-truncated or 503, and the server keeps serving', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        spectra.query(i % 2 ? 'globex' : 'acme', { sql: ONE_MB_ROWS }).then(async (res) => ({
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          body: await json(res),
        })),
      ),
    );
    for (const a of answers) {
      expect([200, 503]).toContain(a.status);
      if (a.status === 200) {
        expect(a.body.metadata.truncated).toBe(true);
        expect(a.body.metadata.row_count).toBeLessThan(1600);
      } else {
        expect(a.retryAfter).not.toBeNull();
      }
    }
    expect(answers.some((a) => a.status === 200)).toBe(true);
    const ok = await spectra.query('initech', { sql: 'SELECT 2 AS two' });
    expect(ok.status).toBe(200);
    expect(spectra.core).toBeDefined();
  });
});

describe('peak memory of a server process under large concurrent results', () => {
  const HEAP_MB = 256;
  /** V8 heap limit + Buffers + code and the process's own baseline; before the fix it died at the heap limit. */
  const RSS_BOUND_MB = 800;
  let child: ChildProcess | undefined;
  let url = '';
  let keys: Record<string, string> = {};
  let exit: Promise<number | null>;

  beforeAll(async () => {
    child = spawn(
      process.execPath,
      [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', 'test/e2e/memory-bound-serve.ts'],
      {
        cwd: ROOT,
        env: { ...process.env, SPECTRA_TEST_PG: JSON.stringify(pgFacts()) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    exit = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    const ready = await new Promise<{ url: string; keys: Record<string, string> }>((resolve, reject) => {
      child!.stdout!.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line));
      });
      void exit.then((code) => reject(new Error(`server exited (${code}):\n${out}\n${err}`)));
    });
    url = ready.url;
    keys = ready.keys;
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
  });

  const post = (tenant: string, sql: string, accept?: string) =>
    fetch(`${url}/v1/queries`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${keys[tenant]}`,
        'content-type': 'application/json',
        ...(accept ? { accept } : {}),
      },
      body: JSON.stringify({ sql }),
    }).then(
      async (res) => ({ status: res.status, length: (await res.arrayBuffer()).byteLength }),
      (e: Error) => ({ status: 0, length: 0, error: e.message }),
    );

  it(`stays under ${RSS_BOUND_MB} MB (VmHWM) with a ${HEAP_MB} MB heap, and answers every request`, {
    timeout: 300_000,
  }, async () => {
    const answers = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => post(['acme', 'globex', 'initech'][i % 3]!, ONE_MB_ROWS)),
      post('acme', ONE_MB_ROWS, 'application/x-ndjson'),
      post('globex', ONE_MB_ROWS, 'text/csv'),
      post('initech', RED_TEAM_ROW),
      post('acme', RED_TEAM_ROWS),
    ]);
    expect(child!.exitCode).toBeNull();
    for (const a of answers) expect([200, 413, 503]).toContain(a.status);
    expect(answers.slice(8).map((a) => a.status)).toEqual([413, 413]);
    const after = await post('globex', 'SELECT 1 AS one');
    expect(after.status).toBe(200);
    const status = readFileSync(`/proc/${child!.pid}/status`, 'utf8');
    const hwmKb = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]);
    process.stdout.write(`query-memory-limits: server peak RSS ${Math.round(hwmKb / 1024)} MB\n`);
    expect(hwmKb / 1024).toBeLessThan(RSS_BOUND_MB);
  });
});
