/**
 * The authorizer and API functions in-process, fed the events API Gateway sends (REQUEST authorizer
 * event; REST proxy event carrying the authorizer's context), on the run's real PostgreSQL (cluster
 * shape). What a client sees: allowed requests run as their tenant, bad or revoked credentials are
 * denied, and the API trusts only the authorizer's context.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyId, revokeApiKey } from '../../src/auth/api-key.js';
import { ConfigError } from '../../src/config/index.js';
import {
  apiFunctionLimits,
  LAMBDA_RESPONSE_MAX_BYTES,
  SYNC_TIMEOUT_MARGIN_SECONDS,
} from '../../src/config/sections/lambda.js';
import { createLogger } from '../../src/observability/logger.js';
import { buildCore, type Core, issueAdminKey } from '../../src/runtime/core.js';
import { ensureDemoTenants } from '../../src/runtime/demo.js';
import { createApiHandler } from '../../src/runtime/lambda/api.js';
import { createAuthorizerHandler } from '../../src/runtime/lambda/authorizer.js';
import { loadLambdaConfig, once } from '../../src/runtime/lambda/environment.js';
import { apiGatewayEvents } from '../helpers/api-gateway-events.js';
import { pgFacts } from '../helpers/pg-fixture.js';
import { pgUrl } from '../helpers/spectra.js';
import { waitFor } from '../helpers/time.js';
import { recordingTelemetry } from './lambda-telemetry.js';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const API_ID = 'a1b2c3d4e5';
const STAGE = 'v1api';
const ORIGIN = 'https://app.example.com';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:spectra/app-AbCdEf`;

let home: string;
let core: Core;
let keys: Record<string, string>;
let env: Record<string, string>;
const apiTelemetry = recordingTelemetry('spectra-api');
const authTelemetry = recordingTelemetry('spectra-authorizer');

beforeAll(async () => {
  const f = pgFacts();
  home = await mkdtemp(path.join(os.tmpdir(), 'spectra-lambda-'));
  env = {
    SPECTRA_HOME: home,
    SPECTRA_LOG_LEVEL: 'silent',
    SPECTRA_WAREHOUSE_URL: pgUrl(f.authenticator.user, f.authenticator.password, f.warehouseDb),
    SPECTRA_STATE_URL: pgUrl(f.stateUser.user, f.stateUser.password, f.controlDb),
    SPECTRA_SECRET_ARN: SECRET_ARN,
  };
  const config = await loadLambdaConfig({
    env,
    fetchSecret: async (id) => {
      expect(id).toBe(SECRET_ARN);
      return JSON.stringify({
        SPECTRA_API_KEY_PEPPER: 'pepper-from-the-app-secret-0123456789',
        OTHER: 'ignored',
      });
    },
  });
  core = await buildCore(config, createLogger('silent'));
  const creds = await ensureDemoTenants(core.state, {
    home,
    pepper: core.pepper,
    tenants: f.tenants,
    adminKey: () => issueAdminKey(core.state, core.pepper),
  });
  keys = Object.fromEntries(creds.tenants.map((t) => [t.tenant_id, t.api_key]));
});

afterAll(async () => {
  await core?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

const api = () =>
  createApiHandler({ core: async () => core, telemetry: apiTelemetry.telemetry, corsOrigins: [ORIGIN] });
const authorizer = (usagePlans = false) =>
  createAuthorizerHandler({
    authenticate: async () => core.authenticate,
    telemetry: authTelemetry.telemetry,
    usagePlans,
  });

const { authorizerEvent, proxyEvent, contextOf } = apiGatewayEvents({
  region: REGION,
  account: ACCOUNT,
  apiId: API_ID,
  stage: STAGE,
});

const bodyOf = (r: { body: string }) => JSON.parse(r.body);
const header = (
  r: { headers?: Record<string, unknown>; multiValueHeaders?: Record<string, unknown[]> },
  name: string,
) => r.multiValueHeaders?.[name]?.[0] ?? r.headers?.[name];

describe('authorizer → API function', () => {
  it('a request the authorizer allowed runs as its tenant, and the Allow covers every route of the stage', async () => {
    const allow = await authorizer()(authorizerEvent('POST', '/v1/queries', `Bearer ${keys.acme}`));
    expect(allow.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${API_ID}/${STAGE}/*/*`,
      },
    ]);
    expect(allow.context).toMatchObject({
      tenant_id: 'acme',
      db_user: 'tenant_acme',
      auth_method: 'api_key',
    });

    const res = await api()(
      proxyEvent('POST', '/v1/queries', {
        headers: { Authorization: `Bearer ${keys.acme}` },
        body: { sql: 'SELECT DISTINCT tenant_id FROM sales' },
        authorizer: contextOf(allow),
      }),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(bodyOf(res).data).toEqual([{ tenant_id: 'acme' }]);
    expect(apiTelemetry.metrics).toContainEqual({ name: 'ApiRequests', tenant: 'acme', value: 1 });

    const jobs = await api()(
      proxyEvent('GET', '/v1/jobs?limit=1', {
        headers: { Authorization: `Bearer ${keys.acme}` },
        authorizer: contextOf(allow),
      }),
    );
    expect(jobs.statusCode, jobs.body).toBe(200);
    expect(bodyOf(jobs).jobs[0]).toMatchObject({ tenant_id: 'acme', status: 'COMPLETED' });
  });

  it('a bad, malformed or missing credential is denied by the authorizer (API Gateway answers 401)', async () => {
    const deny = authorizer();
    for (const auth of [
      `Bearer ${keys.acme!.slice(0, -2)}xx`,
      'Bearer spk_acme_0000000000000000_nope',
      'Basic abc',
      '',
      undefined,
    ]) {
      await expect(deny(authorizerEvent('GET', '/v1/jobs', auth))).rejects.toThrow('Unauthorized');
    }
    expect(authTelemetry.metrics.filter((m) => m.name === 'AuthorizerDenied').length).toBeGreaterThanOrEqual(
      5,
    );
  });

  // The 1 s bound is the key cache's (unit: api-key.test.ts, on a manual clock); here: it does get denied.
  it('a revoked key is denied by the authorizer within 1 s', async () => {
    const issued = await core.tenants.createKey('globex', {});
    const handler = authorizer();
    await expect(
      handler(authorizerEvent('GET', '/v1/jobs', `Bearer ${issued.apiKey}`)),
    ).resolves.toMatchObject({
      context: { tenant_id: 'globex' },
    });
    await revokeApiKey(core.state, 'globex', apiKeyId(issued.apiKey)!);
    const denial = await waitFor(() =>
      handler(authorizerEvent('GET', '/v1/jobs', `Bearer ${issued.apiKey}`)).then(
        () => null,
        (e: Error) => e,
      ),
    );
    expect(denial.message).toBe('Unauthorized');
  });

  it('with usage plans on, an Allow names the tenant’s usage identifier', async () => {
    const allow = await authorizer(true)(authorizerEvent('GET', '/v1/jobs', `Bearer ${keys.initech}`));
    expect(allow.usageIdentifierKey).toBe('spectra-usage-tenant-initech');
    expect(allow.usageIdentifierKey!.length).toBeGreaterThanOrEqual(20);
  });
});

describe('the API function trusts only the authorizer context', () => {
  it('a valid bearer key without an authorizer context is 401: the API never verifies credentials itself', async () => {
    const res = await api()(
      proxyEvent('GET', '/v1/jobs', { headers: { Authorization: `Bearer ${keys.acme}` } }),
    );
    expect(res.statusCode).toBe(401);
    expect(bodyOf(res).error.code).toBe('UNAUTHORIZED');
  });

  it('X-Tenant-ID must match the authorized tenant', async () => {
    const allow = await authorizer()(authorizerEvent('GET', '/v1/jobs', `Bearer ${keys.globex}`));
    const res = await api()(
      proxyEvent('GET', '/v1/jobs', {
        headers: { Authorization: `Bearer ${keys.globex}`, 'X-Tenant-ID': 'acme' },
        authorizer: contextOf(allow),
      }),
    );
    expect(res.statusCode).toBe(403);
  });

  it('the permissions in the context are enforced', async () => {
    const allow = await authorizer()(authorizerEvent('POST', '/v1/queries', `Bearer ${keys.acme}`));
    const readOnly = { ...contextOf(allow), permissions: 'bulk:read' };
    const res = await api()(
      proxyEvent('POST', '/v1/queries', {
        headers: { Authorization: `Bearer ${keys.acme}` },
        body: { sql: 'SELECT 1' },
        authorizer: readOnly,
      }),
    );
    expect(res.statusCode).toBe(403);
    expect(bodyOf(res).error.code).toBe('FORBIDDEN');
  });

  it('/health and /openapi.json answer without any authorizer context', async () => {
    const health = await api()(proxyEvent('GET', '/health'));
    expect(health.statusCode).toBe(200);
    expect(bodyOf(health)).toMatchObject({ status: 'healthy', service: 'redshift-spectra' });
    const doc = await api()(proxyEvent('GET', '/openapi.json'));
    expect(doc.statusCode).toBe(200);
    expect(bodyOf(doc).paths['/v1/queries']).toBeDefined();
  });

  it('CORS headers go to allowed origins only', async () => {
    const allowed = await api()(proxyEvent('GET', '/health', { headers: { Origin: ORIGIN } }));
    expect(header(allowed, 'access-control-allow-origin')).toBe(ORIGIN);
    expect(String(header(allowed, 'access-control-expose-headers'))).toContain('X-Request-ID');
    const other = await api()(proxyEvent('GET', '/health', { headers: { Origin: 'https://evil.example' } }));
    expect(header(other, 'access-control-allow-origin')).toBeUndefined();
  });

  it('a core that fails to start answers 500 in the error envelope, and the next invocation tries again', async () => {
    let attempts = 0;
    const flaky = createApiHandler({
      core: once(async () => {
        attempts += 1;
        if (attempts === 1) throw new ConfigError('secret unreadable');
        return core;
      }),
      telemetry: apiTelemetry.telemetry,
    });
    const first = await flaky(proxyEvent('GET', '/health'));
    expect(first.statusCode).toBe(500);
    expect(bodyOf(first).error).toMatchObject({ code: 'INTERNAL_ERROR', request_id: expect.any(String) });
    const second = await flaky(proxyEvent('GET', '/health'));
    expect(second.statusCode).toBe(200);
    expect(attempts).toBe(2);
  });
});

describe('Lambda configuration', () => {
  it('refuses to start without a pepper, or on the embedded PostgreSQL', async () => {
    await expect(
      loadLambdaConfig({ env: { SPECTRA_WAREHOUSE_URL: 'postgres://x', SPECTRA_STATE_URL: 'postgres://y' } }),
    ).rejects.toThrow(/SPECTRA_API_KEY_PEPPER/);
    await expect(loadLambdaConfig({ env: { SPECTRA_API_KEY_PEPPER: 'p' } })).rejects.toThrow(
      /embedded PostgreSQL/,
    );
  });

  it('a variable set in the environment wins over the app secret', async () => {
    const config = await loadLambdaConfig({
      env: { ...env, SPECTRA_API_KEY_PEPPER: 'from-env', SPECTRA_JWT_ISSUER: 'https://issuer.example' },
      fetchSecret: async () =>
        JSON.stringify({ SPECTRA_API_KEY_PEPPER: 'from-secret', SPECTRA_SQL_MAX_JOINS: '3' }),
    });
    expect(config.apiKeyPepper).toBe('from-env');
    expect(config.sqlMaxJoins).toBe(3);
    expect(config.jwtIssuer).toEqual(['https://issuer.example']);
  });

  it('a secret that is not a JSON object is a configuration error', async () => {
    await expect(loadLambdaConfig({ env, fetchSecret: async () => 'not json' })).rejects.toThrow(ConfigError);
    await expect(loadLambdaConfig({ env, fetchSecret: async () => '["a"]' })).rejects.toThrow(ConfigError);
  });
});

describe('Lambda limits', () => {
  it('a sync result larger than a Lambda response is 413 RESULT_TOO_LARGE pointing to async jobs, not a 502', async () => {
    const allow = await authorizer()(authorizerEvent('POST', '/v1/queries', `Bearer ${keys.acme}`));
    const res = await api()(
      proxyEvent('POST', '/v1/queries', {
        headers: { Authorization: `Bearer ${keys.acme}` },
        body: {
          sql: "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 7) SELECT repeat('x', 1000000) AS big FROM s",
        },
        authorizer: contextOf(allow),
      }),
    );
    expect(res.statusCode).toBe(413);
    const error = bodyOf(res).error;
    expect(error).toMatchObject({
      code: 'RESULT_TOO_LARGE',
      message: expect.stringContaining('"async": true'),
      details: {
        max_bytes: LAMBDA_RESPONSE_MAX_BYTES,
        async: { path: '/v1/queries', body: { async: true } },
      },
    });
    expect(error.details.size_bytes).toBeGreaterThan(LAMBDA_RESPONSE_MAX_BYTES);
    expect(error.request_id).toBe(header(res, 'x-request-id'));
    expect(Buffer.byteLength(JSON.stringify(res))).toBeLessThan(LAMBDA_RESPONSE_MAX_BYTES);
  });

  it('start refuses a statement timeout that outlives the function or an inline cap over the response limit', async () => {
    const fetchSecret = async () => JSON.stringify({ SPECTRA_API_KEY_PEPPER: 'p' });
    await expect(
      loadLambdaConfig({ env: { ...env, SPECTRA_LAMBDA_TIMEOUT_SECONDS: '28' }, fetchSecret }),
    ).rejects.toThrow(/SPECTRA_MAX_TIMEOUT_SECONDS=300 must be at most 23[\s\S]*SPECTRA_MAX_RESULT_BYTES/);
    const derived = await loadLambdaConfig({ env: { ...env, ...apiFunctionLimits(28) }, fetchSecret });
    expect(derived.maxTimeoutSeconds).toBe(28 - SYNC_TIMEOUT_MARGIN_SECONDS);
    expect(derived.defaultTimeoutSeconds).toBe(derived.maxTimeoutSeconds);
    expect(derived.maxResultBytes).toBeLessThan(LAMBDA_RESPONSE_MAX_BYTES);
  });
});
