/**
 * Idempotency keys on POST /v1/queries (API.md "Common headers"): replay without running again,
 * 422 on a different body, concurrent duplicates run once. Real HTTP, real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

let spectra: TestSpectra;
let control: ControlDb;

beforeAll(async () => {
  control = await createControlDb('jobs_idem');
  spectra = await startSpectra({ SPECTRA_STATE_URL: control.url });
});
afterAll(async () => {
  await spectra?.close();
  await control?.drop();
});

const key = () => `key-${crypto.randomUUID()}`;

async function jobsWithSql(tenant: string, sql: string): Promise<string[]> {
  const list = await json(await spectra.request('/v1/jobs?limit=100', { tenant }));
  return list.jobs.filter((j: { sql: string }) => j.sql === sql).map((j: { job_id: string }) => j.job_id);
}

describe('idempotency keys', () => {
  it('50 concurrent identical POSTs with one key create exactly one job; the others replay its response', async () => {
    const sql = `SELECT ${Date.now()} AS submitted_once`;
    const k = key();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        spectra.query('acme', { sql, async: true }, { 'X-Idempotency-Key': k }),
      ),
    );
    const bodies = await Promise.all(responses.map((r) => json(r)));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(202));
    const ids = new Set(bodies.map((b) => b.job_id));
    expect(ids.size).toBe(1);
    const replayed = responses.filter((r) => r.headers.get('idempotent-replayed') === 'true');
    expect(replayed).toHaveLength(49);
    for (const r of responses) expect(r.headers.get('location')).toBe(`/v1/jobs/${[...ids][0]}`);
    expect(await jobsWithSql('acme', sql)).toEqual([...ids]);
  });

  it('replays a sync query response byte for byte without running it again (either header name)', async () => {
    const sql = `SELECT ${Date.now()} AS ran_once, now() AS at`;
    const k = key();
    const first = await spectra.query('globex', { sql }, { 'Idempotency-Key': k });
    const firstText = await first.text();
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const second = await spectra.query('globex', { sql }, { 'X-Idempotency-Key': k });
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await second.text()).toBe(firstText);
    expect(await jobsWithSql('globex', sql)).toHaveLength(1);
  });

  it('treats the same JSON with other key order and spacing as the same request', async () => {
    const k = key();
    const sql = `SELECT ${Date.now()} AS canonical`;
    const a = await spectra.request('/v1/queries', {
      tenant: 'acme',
      body: `{"sql": ${JSON.stringify(sql)}, "async": true}`,
      headers: { 'X-Idempotency-Key': k },
    });
    const b = await spectra.request('/v1/queries', {
      tenant: 'acme',
      body: `{ "async":true,"sql":${JSON.stringify(sql)} }`,
      headers: { 'X-Idempotency-Key': k },
    });
    expect(a.status).toBe(202);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect((await json(b)).job_id).toBe((await json(a)).job_id);
  });

  it('answers 422 IDEMPOTENCY_CONFLICT when the key comes back with a different body', async () => {
    const k = key();
    const first = await spectra.query(
      'acme',
      { sql: 'SELECT 1 AS a', async: true },
      { 'X-Idempotency-Key': k },
    );
    expect(first.status).toBe(202);
    const other = await spectra.query(
      'acme',
      { sql: 'SELECT 2 AS a', async: true },
      { 'X-Idempotency-Key': k },
    );
    expect(other.status).toBe(422);
    expect((await json(other)).error.code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('scopes keys to the tenant: another tenant with the same key runs its own request', async () => {
    const k = key();
    const sql = `SELECT ${Date.now()} AS per_tenant`;
    const a = await json(await spectra.query('acme', { sql, async: true }, { 'X-Idempotency-Key': k }));
    const res = await spectra.query('initech', { sql, async: true }, { 'X-Idempotency-Key': k });
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect((await json(res)).job_id).not.toBe(a.job_id);
  });

  it('replays a client error but not a rejected credential, and refuses malformed keys', async () => {
    const k = key();
    const bad1 = await spectra.query('acme', { sql: 'SELEC 1' }, { 'X-Idempotency-Key': k });
    expect(bad1.status).toBe(400);
    const bad2 = await spectra.query('acme', { sql: 'SELEC 1' }, { 'X-Idempotency-Key': k });
    expect(bad2.status).toBe(400);
    expect(bad2.headers.get('idempotent-replayed')).toBe('true');

    const malformed = await spectra.query(
      'acme',
      { sql: 'SELECT 1 AS a' },
      { 'X-Idempotency-Key': 'has space' },
    );
    expect(malformed.status).toBe(400);
    const differing = await spectra.query(
      'acme',
      { sql: 'SELECT 1 AS a' },
      { 'X-Idempotency-Key': 'a', 'Idempotency-Key': 'b' },
    );
    expect(differing.status).toBe(400);
  });
});
