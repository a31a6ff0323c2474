/**
 * The attack suite as an HTTP client sees it: through the real Hono app and its authentication
 * middleware, every rejected credential is a 401 or 403 in the error envelope, with nothing that
 * helps an attacker (no secret, no token, no hint of which part was wrong).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createApiKey, createAuthenticator, revokeApiKey } from '../../../src/auth/index.js';
import { createApp } from '../../../src/http/app.js';
import type { QueryService } from '../../../src/services/query-service.js';
import { MemoryState } from '../../fakes/memory-state.js';
import {
  claims,
  HS_SECRET,
  hsWithPublicKeyAsSecret,
  rsaKeyPair,
  signHs,
  unsignedToken,
} from '../../helpers/jwt-tokens.js';

const PEPPER = 'http-pepper';
const rsa = rsaKeyPair();

/** What the app would log as internal errors: no attack may end up there. */
const internalErrors: unknown[] = [];
afterEach(() => {
  expect(internalErrors.splice(0)).toEqual([]);
});

async function setup() {
  const state = new MemoryState();
  state.addTenant('acme', { dbUser: 'tenant_acme' });
  state.addTenant('globex', { dbUser: 'tenant_globex' });
  state.addTenant('frozen', { dbUser: 'tenant_frozen', status: 'suspended' });
  const authenticate = createAuthenticator({
    state,
    pepper: PEPPER,
    apiKeyCacheTtlMs: 0,
    jwt: { secret: HS_SECRET, issuer: 'https://idp.example', audience: 'spectra' },
  });
  const app = createApp({
    version: 'test',
    maxBodyBytes: 1_000_000,
    authenticate,
    // No route beyond authentication is reached by these tests: unknown /v1 paths answer 404 after auth.
    queries: {} as QueryService,
    state,
    readiness: [],
    onInternalError: (err) => internalErrors.push(err),
  });
  const acmeKey = await createApiKey(state, PEPPER, 'acme');
  return { state, app, acmeKey };
}

const PROBE = '/v1/auth-probe';

async function call(
  app: Awaited<ReturnType<typeof setup>>['app'],
  credential: string | null,
  headers: Record<string, string> = {},
) {
  const res = await app.request(PROBE, {
    headers: { ...(credential !== null ? { Authorization: `Bearer ${credential}` } : {}), ...headers },
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as { error: Record<string, unknown> }, res };
}

function expectEnvelope(
  r: Awaited<ReturnType<typeof call>>,
  status: number,
  code: string,
  secrets: string[],
) {
  expect(r.status).toBe(status);
  expect(r.body.error).toMatchObject({ code, request_id: expect.any(String), message: expect.any(String) });
  for (const s of secrets) expect(r.text).not.toContain(s);
}

const exp = (secondsFromNow: number) => Math.floor(Date.now() / 1000) + secondsFromNow;
const good = { iss: 'https://idp.example', aud: 'spectra' };

describe('attack suite over HTTP', () => {
  it('valid credentials pass authentication (the probe route then answers 404)', async () => {
    const { app, acmeKey } = await setup();
    expect((await call(app, acmeKey.apiKey)).status).toBe(404);
    expect((await call(app, await signHs(claims('acme', good)))).status).toBe(404);
  });

  const jwtCases: [string, () => Promise<string>, number, string][] = [
    ['alg: none', async () => unsignedToken(claims('acme', good)), 401, 'UNAUTHORIZED'],
    [
      'HS256 signed with the RSA public key',
      async () => hsWithPublicKeyAsSecret(claims('acme', good), rsa.publicPem),
      401,
      'UNAUTHORIZED',
    ],
    ['expired', () => signHs(claims('acme', { ...good, exp: exp(-120) })), 401, 'UNAUTHORIZED'],
    ['nbf in the future', () => signHs(claims('acme', { ...good, nbf: exp(120) })), 401, 'UNAUTHORIZED'],
    // issue 16: valid iss, aud and exp with iat an hour ahead was answered 200
    [
      'iat an hour in the future',
      () => signHs(claims('acme', { ...good, iat: exp(3600) })),
      401,
      'UNAUTHORIZED',
    ],
    ['iat not a number', () => signHs(claims('acme', { ...good, iat: 'now' })), 401, 'UNAUTHORIZED'],
    [
      'wrong iss',
      () => signHs(claims('acme', { ...good, iss: 'https://evil.example' })),
      401,
      'UNAUTHORIZED',
    ],
    ['wrong aud', () => signHs(claims('acme', { ...good, aud: 'other' })), 401, 'UNAUTHORIZED'],
    [
      'missing tenant claim',
      () => signHs(claims('acme', { ...good, tenant_id: undefined })),
      401,
      'UNAUTHORIZED',
    ],
    ['tenant suspended', () => signHs(claims('frozen', good)), 403, 'FORBIDDEN'],
    [
      'db_user of another tenant',
      () => signHs(claims('acme', { ...good, db_user: 'tenant_globex' })),
      403,
      'FORBIDDEN',
    ],
    [
      'malformed base64',
      async () => `${(await signHs(claims('acme', good))).slice(0, 20)}*!.x.y`,
      401,
      'UNAUTHORIZED',
    ],
    [
      'malformed JSON',
      async () => `${Buffer.from('{"alg":').toString('base64url')}.e30.c2ln`,
      401,
      'UNAUTHORIZED',
    ],
  ];
  for (const [name, mint, status, code] of jwtCases) {
    it(`JWT ${name} → ${status}`, async () => {
      const { app } = await setup();
      const token = await mint();
      const r = await call(app, token);
      expectEnvelope(
        r,
        status,
        code,
        [token, HS_SECRET].filter((s) => s.length > 0),
      );
    });
  }

  it('a 9 KB token → 401', async () => {
    const { app } = await setup();
    const token = await signHs(claims('acme', { ...good, padding: 'x'.repeat(9 * 1024) }));
    expectEnvelope(await call(app, token), 401, 'UNAUTHORIZED', [token]);
  });

  it('a key of tenant A with X-Tenant-ID: B → 403', async () => {
    const { app, acmeKey } = await setup();
    expectEnvelope(await call(app, acmeKey.apiKey, { 'X-Tenant-ID': 'globex' }), 403, 'FORBIDDEN', [
      acmeKey.apiKey,
    ]);
  });

  it('a key of tenant A rewritten with tenant B’s prefix → 401', async () => {
    const { app, acmeKey } = await setup();
    const forged = acmeKey.apiKey.replace('spk_acme_', 'spk_globex_');
    expectEnvelope(await call(app, forged), 401, 'UNAUTHORIZED', [forged, acmeKey.apiKey.slice(-64)]);
  });

  it('a revoked key → 401', async () => {
    const { app, state, acmeKey } = await setup();
    await revokeApiKey(state, 'acme', acmeKey.record.keyId);
    expectEnvelope(await call(app, acmeKey.apiKey), 401, 'UNAUTHORIZED', [acmeKey.apiKey.slice(-64)]);
  });

  it('header auth attempted while disabled → 401', async () => {
    const { app } = await setup();
    const r = await call(app, null, { 'X-Tenant-ID': 'acme', 'X-DB-User': 'tenant_acme' });
    expectEnvelope(r, 401, 'UNAUTHORIZED', []);
    expect(r.res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
  });

  it('the messages for a wrong secret and an unknown key are identical', async () => {
    const { app, acmeKey } = await setup();
    const wrong = await call(app, `${acmeKey.apiKey.slice(0, -64)}${'0'.repeat(64)}`);
    const unknown = await call(app, `spk_acme_${'1'.repeat(80)}`);
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
    expect(wrong.body.error.details).toEqual(unknown.body.error.details);
  });
});
