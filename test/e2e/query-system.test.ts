/**
 * System routes and cross-cutting headers: /health, /ready (also with the warehouse down),
 * /openapi.json against the routes the app really serves, /docs and its assets, X-Request-ID,
 * Server-Timing.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pgFacts } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

/** Functional tests: rate limits are another suite's subject. */
const UNLIMITED = { SPECTRA_RATE_LIMIT_PER_MINUTE: '0' };

/** Every app createApp built in this file: the last one is the running server's. */
const builtApps = vi.hoisted(() => [] as { routes: { method: string; path: string }[] }[]);
vi.mock('../../src/http/app.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/http/app.js')>();
  return {
    ...original,
    createApp: (...args: Parameters<typeof original.createApp>) => {
      const app = original.createApp(...args);
      builtApps.push(app);
      return app;
    },
  };
});

let spectra: TestSpectra;
let servedApp: (typeof builtApps)[number] | undefined;
beforeAll(async () => {
  spectra = await startSpectra(UNLIMITED);
  servedApp = builtApps.at(-1);
});
afterAll(async () => {
  await spectra?.close();
});

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('health and readiness', () => {
  it('GET /health → 200 healthy with the service name and version', async () => {
    const res = await spectra.request('/health');
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      status: 'healthy',
      service: 'redshift-spectra',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
  });

  it('GET /ready → 200 when the warehouse and the state store answer', async () => {
    const res = await spectra.request('/ready');
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ status: 'ready', checks: { warehouse: 'ok', state: 'ok' } });
  });

  it('with the warehouse unreachable: /ready → 503 naming it, a query → 503 WAREHOUSE_UNAVAILABLE with Retry-After', async () => {
    const port = await deadPort();
    const f = pgFacts();
    const down = await startSpectra({
      SPECTRA_WAREHOUSE_URL: `postgres://${f.authenticator.user}:x@127.0.0.1:${port}/${f.warehouseDb}`,
    });
    try {
      const ready = await down.request('/ready');
      expect(ready.status).toBe(503);
      const body = await json(ready);
      expect(body.status).toBe('not_ready');
      expect(body.checks.state).toBe('ok');
      expect(body.checks.warehouse).not.toBe('ok');

      const q = await down.query('acme', { sql: 'SELECT 1 AS x' });
      expect(q.status).toBe(503);
      expect(Number(q.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await json(q)).error).toMatchObject({ code: 'WAREHOUSE_UNAVAILABLE' });
    } finally {
      await down.close();
    }
  });
});

describe('OpenAPI document and docs page', () => {
  it('/openapi.json is OpenAPI 3.1 and documents every route the app serves', async () => {
    const res = await spectra.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = await json(res);
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toBeTruthy();

    // The app the running server was built with (captured from createApp), not a look-alike.
    const app = servedApp!;
    expect(app).toBeDefined();
    // The interactive docs, the web console and the document itself are the only routes not described in it.
    const undocumented = new Set([
      '/openapi.json',
      '/docs',
      '/docs/assets/init.js',
      '/docs/assets/:file',
      '/console',
      '/console/',
      '/console/:file',
    ]);
    const served = new Set<string>();
    for (const r of app.routes) {
      if (r.method === 'ALL' || undocumented.has(r.path)) continue;
      served.add(`${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    }
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(item)) documented.add(`${method} ${path}`);
    }
    expect([...served].sort()).toEqual([...documented].sort());
    expect(served).toContain('post /v1/queries');
    expect(served).toContain('get /v1/jobs/{id}');
  });

  it('the query route documents its body schema, its responses and the error envelope', async () => {
    const doc = await json(await spectra.request('/openapi.json'));
    const op = doc.paths['/v1/queries'].post;
    expect(Object.keys(op.requestBody.content)).toEqual(['application/json']);
    expect(Object.keys(op.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '413', '422', '503', '504']),
    );
    expect(doc.components.schemas.Error).toBeDefined();
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('/docs is an HTML page that loads the OpenAPI document, and its assets load', async () => {
    const res = await spectra.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    let scripts = '';
    for (const asset of assets) {
      const a = await spectra.request(asset);
      expect(a.status, asset).toBe(200);
      expect(a.headers.get('content-type'), asset).toMatch(
        asset.endsWith('.css') ? /^text\/css/ : /javascript/,
      );
      const body = await a.text();
      expect(body.length, asset).toBeGreaterThan(asset.endsWith('init.js') ? 10 : 10_000);
      if (asset.endsWith('.js')) scripts += body;
    }
    expect(html + scripts).toContain('/openapi.json');
    const missing = await spectra.request('/docs/assets/secrets.json');
    expect(missing.status).toBe(404);
  });
});

describe('X-Request-ID and Server-Timing', () => {
  it('echoes a client X-Request-ID on success and in error bodies', async () => {
    const ok = await spectra.query('acme', { sql: 'SELECT 1 AS x' }, { 'x-request-id': 'client-req-42' });
    expect(ok.headers.get('x-request-id')).toBe('client-req-42');
    const bad = await spectra.query('acme', { sql: 'SELECT 1/0 AS x' }, { 'x-request-id': 'client-req-43' });
    expect(bad.headers.get('x-request-id')).toBe('client-req-43');
    expect((await json(bad)).error.request_id).toBe('client-req-43');
  });

  it('generates one when absent or unusable', async () => {
    const none = await spectra.request('/health');
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const insane = await spectra.request('/health', { headers: { 'x-request-id': 'a b<script>' } });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const other = await spectra.request('/health');
    expect(other.headers.get('x-request-id')).not.toBe(none.headers.get('x-request-id'));
  });

  it('Server-Timing has the auth, plan and db phases on a query', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT count(*) AS n FROM sales' });
    expect(res.status).toBe(200);
    const timing = res.headers.get('server-timing') ?? '';
    const phases = Object.fromEntries(
      timing.split(/,\s*/).map((p) => {
        const [name, dur] = p.split(';dur=');
        return [name, Number(dur)];
      }),
    );
    for (const phase of ['auth', 'plan', 'db']) expect(phases[phase], timing).toBeGreaterThanOrEqual(0);
  });

  it('Server-Timing is present on streamed responses too', async () => {
    const res = await spectra.query('acme', { sql: 'SELECT 1 AS x' }, { accept: 'application/x-ndjson' });
    expect(res.headers.get('server-timing')).toMatch(/auth;dur=.*plan;dur=/);
    await res.text();
  });
});
