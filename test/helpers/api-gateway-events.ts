/**
 * The events API Gateway (REST API, `{proxy+}` resource behind a REQUEST authorizer) sends to the
 * authorizer and API functions, for tests that invoke the handlers in-process.
 */
import type { AuthorizerRequestEvent } from '../../src/auth/authorizer.js';
import type { ApiGatewayEvent } from '../../src/runtime/lambda/api.js';
import type { LambdaAuthorizerResult } from '../../src/runtime/lambda/authorizer.js';

export interface ApiGatewayStage {
  region: string;
  account: string;
  apiId: string;
  stage: string;
}

export function apiGatewayEvents({ region, account, apiId, stage }: ApiGatewayStage) {
  const host = `${apiId}.execute-api.${region}.amazonaws.com`;
  const multi = (values: Record<string, string>) =>
    Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [v]]));

  /** A REQUEST authorizer event. */
  function authorizerEvent(method: string, pathname: string, authorization?: string): AuthorizerRequestEvent {
    const headers: Record<string, string> = { Host: host };
    if (authorization !== undefined) headers.Authorization = authorization;
    return {
      type: 'REQUEST',
      methodArn: `arn:aws:execute-api:${region}:${account}:${apiId}/${stage}/${method}${pathname}`,
      resource: '/{proxy+}',
      path: pathname,
      httpMethod: method,
      headers,
      multiValueHeaders: multi(headers),
      queryStringParameters: {},
      pathParameters: { proxy: pathname.slice(1) },
      stageVariables: {},
      requestContext: { accountId: account, apiId, stage, httpMethod: method, path: `/${stage}${pathname}` },
    };
  }

  /**
   * A proxy event as the API function receives it; `authorizer` is the context API Gateway built
   * from the authorizer's result (null: none, as for the unauthenticated `/health`).
   */
  function proxyEvent(
    method: string,
    pathname: string,
    opts: {
      body?: unknown;
      headers?: Record<string, string>;
      authorizer?: Record<string, unknown> | null;
    } = {},
  ): ApiGatewayEvent {
    const headers: Record<string, string> = {
      Host: host,
      'User-Agent': 'vitest',
      'X-Forwarded-Proto': 'https',
      ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...opts.headers,
    };
    const [p, q] = pathname.split('?');
    const query = Object.fromEntries(new URLSearchParams(q ?? ''));
    const hasQuery = Object.keys(query).length > 0;
    const requestId = crypto.randomUUID();
    return {
      resource: p === '/health' ? '/health' : '/{proxy+}',
      path: p!,
      httpMethod: method,
      headers,
      multiValueHeaders: multi(headers),
      queryStringParameters: hasQuery ? query : undefined,
      multiValueQueryStringParameters: hasQuery ? multi(query) : undefined,
      pathParameters: { proxy: p!.slice(1) },
      stageVariables: undefined,
      body: opts.body === undefined ? null : JSON.stringify(opts.body),
      isBase64Encoded: false,
      version: '1.0',
      requestContext: {
        accountId: account,
        apiId,
        authorizer: opts.authorizer ?? null,
        domainName: host,
        domainPrefix: apiId,
        extendedRequestId: requestId,
        httpMethod: method,
        identity: { sourceIp: '203.0.113.9', userAgent: 'vitest' },
        path: `/${stage}${p}`,
        protocol: 'HTTP/1.1',
        requestId,
        requestTime: new Date().toUTCString(),
        requestTimeEpoch: Date.now(),
        resourcePath: '/{proxy+}',
        stage,
      },
    } as ApiGatewayEvent;
  }

  /** What API Gateway puts in `requestContext.authorizer` from an authorizer result. */
  function contextOf(result: LambdaAuthorizerResult): Record<string, unknown> {
    return { ...result.context, principalId: result.principalId, integrationLatency: 12 };
  }

  return { authorizerEvent, proxyEvent, contextOf };
}
