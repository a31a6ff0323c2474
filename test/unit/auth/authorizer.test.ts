import { describe, expect, it } from 'vitest';
import {
  type AuthorizerRequestEvent,
  type AuthorizerTokenEvent,
  authorizeRequest,
  createApiKey,
  createAuthenticator,
  createLambdaAuthorizer,
  principalFromAuthorizerContext,
  stageWildcard,
} from '../../../src/auth/index.js';
import { ApiError } from '../../../src/domain/errors.js';
import { MemoryState } from '../../fakes/memory-state.js';
import { claims, HS_SECRET, signHs } from '../../helpers/jwt-tokens.js';

const PEPPER = 'pepper';
const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/v1/queries';
const STAGE_WILDCARD = 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*';

async function setup() {
  const state = new MemoryState();
  state.addTenant('acme', { dbUser: 'tenant_acme', dbGroups: ['analysts', 'tenants'] });
  state.addTenant('frozen', { status: 'suspended' });
  const authenticate = createAuthenticator({
    state,
    pepper: PEPPER,
    apiKeyCacheTtlMs: 1000,
    jwt: { secret: HS_SECRET },
  });
  const key = await createApiKey(state, PEPPER, 'acme', { permissions: ['query:execute', 'bulk:read'] });
  return { state, authenticate, key };
}

function tokenEvent(authorizationToken: string, methodArn = METHOD_ARN): AuthorizerTokenEvent {
  return { type: 'TOKEN', authorizationToken, methodArn };
}

/** A REST API (v1 payload) REQUEST authorizer event as API Gateway sends it. */
function requestEvent(
  authorization: string | undefined,
  headerName = 'Authorization',
): AuthorizerRequestEvent {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Host: 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
    'User-Agent': 'curl/8.5.0',
    'X-Amzn-Trace-Id': 'Root=1-65a0c0de-0123456789abcdef01234567',
    'X-Forwarded-For': '203.0.113.9',
    'X-Tenant-ID': 'acme',
  };
  if (authorization !== undefined) headers[headerName] = authorization;
  return {
    type: 'REQUEST',
    methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/v1/jobs/job-123',
    resource: '/v1/jobs/{id}',
    path: '/v1/jobs/job-123',
    httpMethod: 'GET',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { id: 'job-123' },
    stageVariables: null,
    requestContext: {
      resourceId: 'x1y2z3',
      resourcePath: '/v1/jobs/{id}',
      httpMethod: 'GET',
      path: '/prod/v1/jobs/job-123',
      accountId: '123456789012',
      stage: 'prod',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      identity: { sourceIp: '203.0.113.9', userAgent: 'curl/8.5.0' },
      apiId: 'a1b2c3d4e5',
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

describe('Lambda authorizer', () => {
  it('a TOKEN event with a valid API key gets an Allow for the whole stage and the tenant context', async () => {
    const { authenticate, key } = await setup();
    const result = await authorizeRequest(tokenEvent(`Bearer ${key.apiKey}`), authenticate);
    expect(result).toEqual({
      principalId: 'acme',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: STAGE_WILDCARD }],
      },
      context: {
        tenant_id: 'acme',
        db_user: 'tenant_acme',
        db_groups: 'analysts,tenants',
        permissions: 'query:execute,bulk:read',
        auth_method: 'api_key',
        credential_id: key.record.keyId,
      },
    });
    for (const v of Object.values(result.context ?? {})) expect(typeof v).toBe('string');
  });

  it('a REQUEST event with a JWT in the Authorization header is allowed, whatever the header’s case', async () => {
    const { authenticate } = await setup();
    const jwt = await signHs(claims('acme', { permissions: ['query:execute'] }));
    for (const name of ['Authorization', 'authorization', 'AUTHORIZATION']) {
      const result = await authorizeRequest(requestEvent(`Bearer ${jwt}`, name), authenticate);
      expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow', Resource: STAGE_WILDCARD });
      expect(result.context).toMatchObject({
        tenant_id: 'acme',
        permissions: 'query:execute',
        auth_method: 'jwt',
      });
    }
  });

  it('a REQUEST event with only multiValueHeaders is read too', async () => {
    const { authenticate, key } = await setup();
    const event = {
      ...requestEvent(undefined),
      headers: null,
      multiValueHeaders: { authorization: [`Bearer ${key.apiKey}`] },
    };
    expect((await authorizeRequest(event, authenticate)).context?.tenant_id).toBe('acme');
  });

  it('an HTTP API (payload 2.0) REQUEST event with routeArn is allowed on the whole stage', async () => {
    const { authenticate, key } = await setup();
    const event: AuthorizerRequestEvent = {
      version: '2.0',
      type: 'REQUEST',
      routeArn: 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/POST/v1/queries',
      identitySource: [`Bearer ${key.apiKey}`],
      routeKey: 'POST /v1/queries',
      rawPath: '/v1/queries',
      headers: { authorization: `Bearer ${key.apiKey}`, 'content-type': 'application/json' },
    };
    const result = await authorizeRequest(event, authenticate);
    expect(result.policyDocument.Statement[0].Resource).toBe(
      'arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/*/*',
    );
  });

  it('a bare token without the Bearer scheme is accepted in TOKEN events', async () => {
    const { authenticate, key } = await setup();
    expect((await authorizeRequest(tokenEvent(key.apiKey), authenticate)).context?.tenant_id).toBe('acme');
  });

  it('a missing or empty credential throws Unauthorized', async () => {
    const { authenticate } = await setup();
    for (const event of [
      requestEvent(undefined),
      tokenEvent(''),
      tokenEvent('Bearer '),
      tokenEvent('Bearer'),
    ]) {
      expect((await rejection(authorizeRequest(event, authenticate))).message).toBe('Unauthorized');
    }
  });

  it('an invalid credential throws Unauthorized, without the credential in the error', async () => {
    const { authenticate, key } = await setup();
    const forged = `${key.apiKey.slice(0, -64)}${'0'.repeat(64)}`;
    const err = await rejection(authorizeRequest(tokenEvent(`Bearer ${forged}`), authenticate));
    expect(err.message).toBe('Unauthorized');
    expect(`${err.stack}`).not.toContain(forged.slice(-64));
    const badJwt = await signHs(claims('acme'), { secret: 'another-secret-0123456789abcdef012345' });
    expect((await rejection(authorizeRequest(requestEvent(`Bearer ${badJwt}`), authenticate))).message).toBe(
      'Unauthorized',
    );
  });

  it('a suspended tenant gets a Deny for the whole stage', async () => {
    const { authenticate, state } = await setup();
    const jwt = await signHs(claims('frozen'));
    const result = await authorizeRequest(tokenEvent(`Bearer ${jwt}`), authenticate);
    expect(result.policyDocument.Statement[0]).toEqual({
      Action: 'execute-api:Invoke',
      Effect: 'Deny',
      Resource: STAGE_WILDCARD,
    });
    expect(result.context).toBeUndefined();
    expect(state.tenantRows.get('frozen')?.status).toBe('suspended');
  });

  it('a db_user claim of another tenant gets a Deny', async () => {
    const { authenticate } = await setup();
    const jwt = await signHs(claims('acme', { db_user: 'tenant_globex' }));
    const result = await authorizeRequest(tokenEvent(`Bearer ${jwt}`), authenticate);
    expect(result.policyDocument.Statement[0].Effect).toBe('Deny');
  });

  it('a malformed methodArn throws Unauthorized rather than allowing anything', async () => {
    const { authenticate, key } = await setup();
    for (const arn of ['*', 'arn:aws:execute-api:eu-west-1:123456789012:*', 'arn:aws:s3:::bucket/key']) {
      expect(
        (await rejection(authorizeRequest(tokenEvent(`Bearer ${key.apiKey}`, arn), authenticate))).message,
      ).toBe('Unauthorized');
    }
  });

  it('a state store outage is rethrown (API Gateway answers 500 and caches nothing), not turned into Allow or 401', async () => {
    const outage = new ApiError('WAREHOUSE_UNAVAILABLE', 'control state store unavailable');
    const handler = createLambdaAuthorizer(async () => {
      throw outage;
    });
    expect(await rejection(handler(tokenEvent('Bearer spk_acme_x')))).toBe(outage);
  });

  it('principalFromAuthorizerContext reverses the context the authorizer produced', async () => {
    const { authenticate, key } = await setup();
    const direct = await authenticate(key.apiKey);
    const { context } = await authorizeRequest(tokenEvent(`Bearer ${key.apiKey}`), authenticate);
    expect(
      principalFromAuthorizerContext({ ...context, principalId: 'acme', integrationLatency: 12 }),
    ).toEqual({
      ...direct,
      authMethod: 'authorizer',
    });
  });

  it('principalFromAuthorizerContext rejects a context without tenant or db_user, and drops unknown permissions', () => {
    for (const ctx of [
      undefined,
      null,
      {},
      { tenant_id: 'acme' },
      { db_user: 'x' },
      { tenant_id: 'A B', db_user: 'x' },
    ]) {
      expect(() => principalFromAuthorizerContext(ctx)).toThrow(ApiError);
    }
    const p = principalFromAuthorizerContext({
      tenant_id: 'acme',
      db_user: 'tenant_acme',
      permissions: 'query:execute,root',
    });
    expect(p).toMatchObject({ dbGroups: [], permissions: ['query:execute'], credentialId: '' });
  });

  it('stageWildcard keeps partition, region, account, API and stage', () => {
    expect(
      stageWildcard('arn:aws-cn:execute-api:cn-north-1:123456789012:api1/v2/DELETE/v1/jobs/job-1/x'),
    ).toBe('arn:aws-cn:execute-api:cn-north-1:123456789012:api1/v2/*/*');
  });
});
