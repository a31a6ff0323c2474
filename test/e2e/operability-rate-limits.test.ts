/**
 * Issue 9 acceptance, rate limits: with SPECTRA_RATE_LIMIT_PER_MINUTE=30, 150 query requests from
 * one tenant within a minute get 429 RATE_LIMITED past the burst, with correct headers, while
 * another tenant is unaffected; with two API processes sharing the state store the limit holds
 * across them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

const LIMIT = 30;
const PEPPER = `rate-limit-test-pepper-${Date.now()}`;

describe('per-tenant rate limits in one process', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra({
      SPECTRA_RATE_LIMIT_PER_MINUTE: String(LIMIT),
      SPECTRA_RATE_LIMIT_STORE: 'local',
    });
  });
  afterAll(async () => {
    await spectra?.close();
  });

  it('refuses the excess of 150 requests with 429 and Retry-After while another tenant is unaffected', async () => {
    const started = Date.now();
    const results: { status: number; headers: Headers; body: unknown }[] = [];
    for (let batch = 0; batch < 15; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => spectra.query('acme', { sql: 'SELECT 1 AS one' })),
      );
      for (const r of responses) results.push({ status: r.status, headers: r.headers, body: await json(r) });
    }
    const elapsedSeconds = (Date.now() - started) / 1000;
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok.length + limited.length).toBe(150);
    // The bucket holds 30 and refills one request every 2 s.
    expect(ok.length).toBeGreaterThanOrEqual(LIMIT);
    expect(ok.length).toBeLessThanOrEqual(LIMIT + Math.ceil(elapsedSeconds / 2) + 1);

    const first = results[0]!;
    expect(first.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
    expect(first.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);

    const refused = limited[0]!;
    expect(refused.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(2);
    expect(refused.body).toMatchObject({
      error: { code: 'RATE_LIMITED', details: { class: 'queries', limit: LIMIT } },
    });

    const other = await spectra.query('globex', { sql: 'SELECT 1 AS one' });
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-remaining')).toBe(String(LIMIT - 1));
  });

  it('limits each route class separately: job reads have their own, larger bucket', async () => {
    const res = await spectra.request('/v1/jobs?limit=1', { tenant: 'acme' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe(String(LIMIT * 3));
  });

  it('puts the headers on streamed responses too', async () => {
    const res = await spectra.query(
      'initech',
      { sql: 'SELECT 1 AS one' },
      { accept: 'application/x-ndjson' },
    );
    expect(res.status).toBe(200);
    await res.text();
    expect(res.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
    expect(res.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('documents the headers in the OpenAPI document', async () => {
    const doc = await json(await spectra.request('/openapi.json'));
    const responses = doc.paths['/v1/queries'].post.responses;
    expect(Object.keys(responses['200'].headers)).toEqual(
      expect.arrayContaining(['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']),
    );
    expect(Object.keys(responses['429'].headers)).toContain('Retry-After');
    expect(doc.components.headers['Retry-After']).toBeDefined();
  });
});

describe('rate limits across two API processes sharing the state store', () => {
  let a: TestSpectra;
  let b: TestSpectra;
  let key: string;
  const tenantId = `rl${Date.now().toString(36)}`;
  beforeAll(async () => {
    const env = {
      SPECTRA_RATE_LIMIT_PER_MINUTE: '10',
      SPECTRA_RATE_LIMIT_STORE: 'state',
      SPECTRA_API_KEY_PEPPER: PEPPER,
    };
    [a, b] = await Promise.all([startSpectra(env), startSpectra(env)]);
    const created = await json(
      await a.request('/v1/admin/tenants', { key: a.adminKey, body: { tenant_id: tenantId } }),
    );
    key = created.api_key;
  });
  afterAll(async () => {
    await a?.request(`/v1/admin/tenants/${tenantId}`, { key: a.adminKey, method: 'DELETE' }).catch(() => {});
    await Promise.all([a?.close(), b?.close()]);
  });

  it('lets the burst through once in total, not once per process', async () => {
    const started = Date.now();
    const statuses: { server: 'a' | 'b'; status: number }[] = [];
    for (let i = 0; i < 30; i++) {
      const server = i % 2 ? b : a;
      const res = await server.request('/v1/queries', { key, body: { sql: 'SELECT 1 AS one' } });
      await res.arrayBuffer();
      statuses.push({ server: i % 2 ? 'b' : 'a', status: res.status });
    }
    const elapsedSeconds = (Date.now() - started) / 1000;
    const ok = statuses.filter((s) => s.status === 200).length;
    expect(statuses.filter((s) => s.status !== 200 && s.status !== 429)).toEqual([]);
    // 10 from the bucket, plus one refill per 6 s the loop took on this machine (per process would be 20+).
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(ok).toBeLessThanOrEqual(10 + Math.ceil(elapsedSeconds / 6));
    // Both processes refuse once the shared bucket is empty.
    for (const server of ['a', 'b'])
      expect(statuses.some((s) => s.server === server && s.status === 429)).toBe(true);
  });
});
