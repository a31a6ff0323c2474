/**
 * CORS on the Node server (issue 18): a browser preflight from an allowed origin is answered before
 * authentication, responses (errors too) carry the origin and expose the headers clients read,
 * other origins get nothing, and credentials mode is never enabled (never with `*`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORS_ALLOW_HEADERS as GATEWAY_ALLOW_HEADERS } from '../../infra/lib/rest-api.js';
import { CORS_ALLOW_HEADERS } from '../../src/http/middleware/cors.js';
import { startSpectra, type TestSpectra } from '../helpers/spectra.js';

const CONSOLE = 'http://localhost:3000';
let listed: TestSpectra;
let anyOrigin: TestSpectra;

beforeAll(async () => {
  [listed, anyOrigin] = await Promise.all([
    startSpectra({ SPECTRA_CORS_ORIGINS: `${CONSOLE},https://app.example.com` }),
    startSpectra({ SPECTRA_CORS_ORIGINS: '["*"]' }),
  ]);
});
afterAll(async () => {
  await Promise.all([listed?.close(), anyOrigin?.close()]);
});

const preflight = (s: TestSpectra, origin: string, path = '/v1/queries') =>
  fetch(`${s.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, x-idempotency-key',
    },
  });

describe('CORS', () => {
  it('answers a preflight from an allowed origin before authentication', async () => {
    const res = await preflight(listed, CONSOLE);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(res.headers.get('access-control-allow-headers')).toMatch(
      /Authorization.*Content-Type.*X-Idempotency-Key/,
    );
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/Origin/);
  });

  it('gives an origin that is not listed no CORS headers', async () => {
    const res = await preflight(listed, 'https://evil.example');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const get = await listed.request('/v1/me', {
      tenant: 'acme',
      headers: { origin: 'https://evil.example' },
    });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('marks responses to an allowed origin, errors included, and exposes the headers clients read', async () => {
    const ok = await listed.request('/v1/me', { tenant: 'acme', headers: { origin: CONSOLE } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    const exposed = ok.headers.get('access-control-expose-headers') ?? '';
    for (const h of [
      'X-Request-ID',
      'X-RateLimit-Remaining',
      'Retry-After',
      'X-Spectra-Job-Id',
      'X-Spectra-Row-Limit',
    ])
      expect(exposed).toContain(h);
    const denied = await listed.request('/v1/me', { headers: { origin: CONSOLE } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    const stream = await listed.request('/v1/queries', {
      tenant: 'acme',
      body: { sql: 'SELECT 1 AS one' },
      headers: { origin: CONSOLE, accept: 'application/x-ndjson' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    await stream.text();
  });

  it('with * allows any origin and still never enables credentials', async () => {
    const res = await preflight(anyOrigin, 'https://anywhere.example');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    const get = await anyOrigin.request('/health', { headers: { origin: 'https://anywhere.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('*');
    expect(get.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('without SPECTRA_CORS_ORIGINS a preflight is an ordinary unauthenticated request', async () => {
    // startSpectra's default: no origins configured.
    const plain = await startSpectra();
    try {
      const res = await preflight(plain, CONSOLE);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.status).toBe(401);
    } finally {
      await plain.close();
    }
  });

  it('allows the request headers API Gateway allows', () => {
    expect(CORS_ALLOW_HEADERS).toEqual(GATEWAY_ALLOW_HEADERS);
  });
});
