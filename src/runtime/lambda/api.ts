/**
 * API function: the same Hono app as `spectra serve`, behind API Gateway (REST, proxy events).
 * The principal is the one the Lambda authorizer put in `requestContext.authorizer` — trusted here
 * and only here, because API Gateway invokes this function only after the authorizer allowed the
 * request. The app's authentication step is satisfied from that context (the bearer credential is
 * not verified a second time); a `/v1` request without an authorizer context is 401.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { type APIGatewayProxyResult, handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { principalFromAuthorizerContext } from '../../auth/authorizer.js';
import { readSetting } from '../../config/index.js';
import { LAMBDA_RESPONSE_MAX_BYTES } from '../../config/sections/lambda.js';
import { ApiError, errorBody } from '../../domain/errors.js';
import type { Authenticate } from '../../domain/principal.js';
import { createApp } from '../../http/app.js';
import type { AppEnv } from '../../http/env.js';
import { CORS_EXPOSE_HEADERS } from '../../http/middleware/cors.js';
import { appDepsFromCore } from '../app-deps.js';
import type { Core } from '../core.js';
import { openLambdaCore } from './core.js';
import { once } from './environment.js';
import { METRIC, SERVICE_NAMES } from './metric-names.js';
import { createTelemetry, invocation, recordMetric, type Telemetry } from './observability.js';

/** The REST API proxy event as API Gateway sends it (only what this file reads is typed). */
export type ApiGatewayEvent = LambdaEvent & {
  requestContext?: { authorizer?: Record<string, unknown> | null; requestId?: string };
  headers?: Record<string, string | undefined> | null;
};

/** Response headers browsers may read (CORS): the Node server's list. */
const EXPOSED_HEADERS = CORS_EXPOSE_HEADERS.join(', ');

export interface ApiHandlerOptions {
  /** The container's core, built once. */
  core: () => Promise<Core>;
  telemetry?: Telemetry;
  /** Allowed browser origins (`*` for any); empty = no CORS headers. */
  corsOrigins?: string[];
  /** Largest proxy result returned as is (default: Lambda's limit, config/sections/lambda.ts); larger is 413 RESULT_TOO_LARGE. */
  responseMaxBytes?: number;
}

const currentEvent = new AsyncLocalStorage<ApiGatewayEvent>();

/** `Authenticate` for the Lambda app: the principal of the authorizer context of the event being handled. */
export const authenticateFromAuthorizer: Authenticate = async function authorizerPrincipal() {
  return principalFromAuthorizerContext(currentEvent.getStore()?.requestContext?.authorizer);
};

export function createApiHandler(options: ApiHandlerOptions) {
  const telemetry = options.telemetry ?? createTelemetry(SERVICE_NAMES.api);
  const corsOrigins = options.corsOrigins ?? [];
  const responseMaxBytes = options.responseMaxBytes ?? LAMBDA_RESPONSE_MAX_BYTES;
  const lambdaApp = once(async () => {
    const core = await options.core();
    const app: OpenAPIHono<AppEnv> = createApp(
      appDepsFromCore(core, {
        authenticate: authenticateFromAuthorizer,
        // No trusted-header auth behind API Gateway: identity comes from the authorizer only.
        trustedHeader: undefined,
        // API Gateway answers preflights and this handler adds the CORS headers (addCorsHeaders).
        corsOrigins: [],
        onInternalError: (err, requestId) =>
          telemetry.logger.error('internal error', { request_id: requestId, error: err as Error }),
      }),
    );
    return handle(app);
  });

  return async function apiHandler(
    event: ApiGatewayEvent,
    context?: LambdaContext,
  ): Promise<APIGatewayProxyResult> {
    return invocation(telemetry, context, async (annotate) => {
      const started = performance.now();
      const tenantId = tenantOf(event);
      if (tenantId) annotate(tenantId);
      let result: APIGatewayProxyResult;
      try {
        const fetchApp = await lambdaApp();
        result = await currentEvent.run(event, () => fetchApp(event, context));
      } catch (error) {
        // Only start-up failures land here (configuration, secret); the app answers everything else.
        telemetry.logger.error('API function could not start', { error: error as Error });
        result = startupFailure(event);
      }
      result = withinResponseLimit(result, responseMaxBytes);
      addCorsHeaders(result, originOf(event), corsOrigins);
      const ms = performance.now() - started;
      recordMetric(telemetry, METRIC.apiRequests, tenantId);
      recordMetric(telemetry, METRIC.apiLatencyMs, tenantId, ms, MetricUnit.Milliseconds);
      if (result.statusCode >= 500) recordMetric(telemetry, METRIC.api5xx, tenantId);
      telemetry.logger.info('request', {
        method: 'httpMethod' in event ? event.httpMethod : undefined,
        path: 'path' in event ? event.path : undefined,
        status: result.statusCode,
        latency_ms: Math.round(ms),
      });
      return result;
    });
  };
}

function tenantOf(event: ApiGatewayEvent): string | null {
  const t = event.requestContext?.authorizer?.tenant_id;
  return typeof t === 'string' && t !== '' ? t : null;
}

function originOf(event: ApiGatewayEvent): string | undefined {
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === 'origin') return value;
  }
  return undefined;
}

/**
 * Lambda refuses a response over its payload limit and API Gateway turns that into a bare 502;
 * answer 413 RESULT_TOO_LARGE instead, pointing to async jobs (whose results are files in S3).
 */
function withinResponseLimit(result: APIGatewayProxyResult, maxBytes: number): APIGatewayProxyResult {
  const size = Buffer.byteLength(JSON.stringify(result), 'utf8');
  if (size <= maxBytes) return result;
  const headers = result.headers ?? {};
  const requestId = String(headers['x-request-id'] ?? headers['X-Request-ID'] ?? crypto.randomUUID());
  const error = new ApiError(
    'RESULT_TOO_LARGE',
    'the response is larger than an AWS Lambda response can be: submit the query with "async": true (POST /v1/queries) and download the result from GET /v1/jobs/{id}/results, or lower the limit',
    {
      size_bytes: size,
      max_bytes: maxBytes,
      async: { method: 'POST', path: '/v1/queries', body: { async: true } },
    },
  );
  return {
    statusCode: error.status,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify(errorBody(error, requestId)),
    isBase64Encoded: false,
  };
}

function startupFailure(event: ApiGatewayEvent): APIGatewayProxyResult {
  const requestId = event.requestContext?.requestId ?? crypto.randomUUID();
  const body = errorBody(
    new ApiError('INTERNAL_ERROR', 'the service is starting up or misconfigured'),
    requestId,
  );
  return {
    statusCode: 500,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** Adds CORS headers to a proxy result when the request's Origin is allowed. */
export function addCorsHeaders(
  result: APIGatewayProxyResult,
  origin: string | undefined,
  allowed: string[],
): void {
  if (!origin || allowed.length === 0) return;
  const any = allowed.includes('*');
  if (!any && !allowed.includes(origin)) return;
  const headers: Record<string, string> = {
    'access-control-allow-origin': any ? '*' : origin,
    'access-control-expose-headers': EXPOSED_HEADERS,
  };
  if (!any) headers.vary = 'Origin';
  if (result.multiValueHeaders) {
    for (const [k, v] of Object.entries(headers)) result.multiValueHeaders[k] = [v];
  } else {
    result.headers ??= {};
    Object.assign(result.headers, headers);
  }
}

const apiTelemetry = createTelemetry(SERVICE_NAMES.api);

export const handler = createApiHandler({
  core: once(() => openLambdaCore(apiTelemetry.tracer)),
  telemetry: apiTelemetry,
  corsOrigins: readSetting('corsOrigins'),
});
