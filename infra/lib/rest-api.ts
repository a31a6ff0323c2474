/**
 * The REST API (API Gateway v1). Routing is the app's job: a `{proxy+}` resource and the root, both
 * `ANY`, proxy every path of API.md to the API function behind the REQUEST authorizer — a route
 * added to the app needs no change here, which is how the original's gateway and handlers drifted
 * apart. Only the public paths (`/health`, and unless `publicDocs=false` `/openapi.json` and
 * `/docs/…`) are separate resources without the authorizer.
 *
 * The authorizer's identity source is the Authorization header (a request without it is 401 without
 * invoking anything); its policy covers the whole stage, so a cached Allow is valid for every route.
 * Caching is 0 s by default (one authorizer call per request) or 1 s, so a revoked key stops working
 * within 1 s either way (functions.ts splits the budget with the authorizer's own cache).
 * Gateway-generated errors use the API's error envelope.
 */
import { Duration, type RemovalPolicy, Size } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { SpectraConfig } from './config.js';

/** Paths served without the authorizer. `/health` always; the docs unless `publicDocs` is false. */
export function publicPaths(config: Pick<SpectraConfig, 'publicDocs'>): string[] {
  return config.publicDocs ? ['/health', '/openapi.json', '/docs', '/docs/{proxy+}'] : ['/health'];
}

/** Request headers browsers may send (CORS). */
export const CORS_ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Accept-Encoding',
  'X-Tenant-ID',
  'X-Request-ID',
  'X-Idempotency-Key',
  'Idempotency-Key',
];

export interface SpectraRestApiProps {
  config: SpectraConfig;
  apiFunction: lambda.IFunction;
  authorizerFunction: lambda.IFunction;
  removalPolicy: RemovalPolicy;
}

export class SpectraRestApi extends Construct {
  readonly api: apigw.RestApi;
  readonly authorizer: apigw.RequestAuthorizer;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SpectraRestApiProps) {
    super(scope, id);
    const { config } = props;

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      logGroupName: `/aws/apigateway/${config.prefix}-api`,
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.removalPolicy,
    });

    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: `${config.prefix}-api`,
      description: 'Redshift Spectra: multi-tenant REST API over Amazon Redshift',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Results are JSON/CSV text; API Gateway gzips them for clients that accept it.
      minCompressionSize: Size.kibibytes(1),
      binaryMediaTypes: ['application/octet-stream', 'application/gzip', 'application/vnd.apache.parquet'],
      apiKeySourceType: config.usagePlans ? apigw.ApiKeySourceType.AUTHORIZER : undefined,
      // Needed once per account and region for stage execution logs.
      cloudWatchRole: true,
      deployOptions: {
        stageName: config.stage,
        throttlingRateLimit: config.throttleRateLimit,
        throttlingBurstLimit: config.throttleBurstLimit,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            request_id: '$context.requestId',
            time: '$context.requestTimeEpoch',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            latency_ms: '$context.responseLatency',
            integration_latency_ms: '$context.integrationLatency',
            response_bytes: '$context.responseLength',
            tenant_id: '$context.authorizer.tenant_id',
            credential_id: '$context.authorizer.credential_id',
            authorizer_status: '$context.authorizer.status',
            authorizer_latency_ms: '$context.authorizer.latency',
            error: '$context.error.message',
            integration_error: '$context.integration.error',
          }),
        ),
      },
      defaultCorsPreflightOptions: {
        allowOrigins: config.corsOrigins,
        allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
        allowHeaders: CORS_ALLOW_HEADERS,
        maxAge: Duration.hours(1),
      },
    });

    this.authorizer = new apigw.RequestAuthorizer(this, 'Authorizer', {
      authorizerName: `${config.prefix}-authorizer`,
      handler: props.authorizerFunction,
      identitySources: [apigw.IdentitySource.header('Authorization')],
      resultsCacheTtl: Duration.seconds(config.authorizerCacheTtlSeconds),
    });

    const integration = new apigw.LambdaIntegration(props.apiFunction, {
      proxy: true,
      allowTestInvoke: false,
    });
    const authorized: apigw.MethodOptions = {
      authorizationType: apigw.AuthorizationType.CUSTOM,
      authorizer: this.authorizer,
      apiKeyRequired: config.usagePlans,
    };
    const open: apigw.MethodOptions = { authorizationType: apigw.AuthorizationType.NONE };

    this.api.root.addMethod('ANY', integration, authorized);
    this.api.root.addResource('{proxy+}').addMethod('ANY', integration, authorized);
    for (const p of publicPaths(config)) {
      // ANY, not GET: a wrong method reaches the app, which answers 405 with `Allow`.
      this.api.root.resourceForPath(p).addMethod('ANY', integration, open);
    }

    this.addGatewayResponses(config);

    if (config.usagePlans) {
      this.api.addUsagePlan('StandardPlan', {
        name: `${config.prefix}-standard`,
        description:
          'Per-tenant throttle and quota. A tenant is in the plan when an API key with value spectra-tenant-<tenant_id> is attached to it.',
        throttle: { rateLimit: config.usagePlanRateLimit, burstLimit: config.usagePlanBurstLimit },
        quota: { limit: config.usagePlanQuotaPerDay, period: apigw.Period.DAY },
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
    }
  }

  private addGatewayResponses(config: SpectraConfig): void {
    const origin = config.corsOrigins.includes('*') ? '*' : config.corsOrigins[0]!;
    const cors = {
      'Access-Control-Allow-Origin': `'${origin}'`,
      'Access-Control-Expose-Headers': "'Retry-After,WWW-Authenticate'",
    };
    const respond = (
      id: string,
      type: apigw.ResponseType,
      code: string,
      message: string | null,
      statusCode?: string,
      extra: Record<string, string> = {},
    ) => {
      // `$context.error.messageString` is already a quoted JSON string.
      const msg = message === null ? '$context.error.messageString' : JSON.stringify(message);
      this.api.addGatewayResponse(id, {
        type,
        statusCode,
        responseHeaders: { ...cors, ...extra },
        templates: {
          'application/json': `{"error":{"code":"${code}","message":${msg},"details":{},"request_id":"$context.requestId"}}`,
        },
      });
    };
    const R = apigw.ResponseType;
    respond(
      'Unauthorized',
      R.UNAUTHORIZED,
      'UNAUTHORIZED',
      'missing, malformed, expired or revoked credential',
      '401',
      { 'WWW-Authenticate': `'Bearer realm="spectra"'` },
    );
    respond('AccessDenied', R.ACCESS_DENIED, 'FORBIDDEN', 'the credential may not use this API', '403');
    respond('InvalidApiKey', R.INVALID_API_KEY, 'FORBIDDEN', 'the tenant has no usage plan', '403');
    respond('Throttled', R.THROTTLED, 'RATE_LIMITED', 'too many requests', '429', { 'Retry-After': "'1'" });
    respond('QuotaExceeded', R.QUOTA_EXCEEDED, 'RATE_LIMITED', 'daily request quota exceeded', '429', {
      'Retry-After': "'3600'",
    });
    respond(
      'RequestTooLarge',
      R.REQUEST_TOO_LARGE,
      'PAYLOAD_TOO_LARGE',
      'request is larger than API Gateway accepts (10 MB)',
      '413',
    );
    respond(
      'IntegrationTimeout',
      R.INTEGRATION_TIMEOUT,
      'QUERY_TIMEOUT',
      'the request did not finish within 29 s; submit long queries with "async": true',
      '504',
    );
    respond('MissingRoute', R.MISSING_AUTHENTICATION_TOKEN, 'NOT_FOUND', 'no such route', '404');
    respond('AuthorizerFailure', R.AUTHORIZER_FAILURE, 'INTERNAL_ERROR', 'authorization failed', '500');
    respond(
      'AuthorizerConfiguration',
      R.AUTHORIZER_CONFIGURATION_ERROR,
      'INTERNAL_ERROR',
      'authorization failed',
      '500',
    );
    respond('BadRequestBody', R.BAD_REQUEST_BODY, 'INVALID_REQUEST', null, '400');
    respond('BadRequestParameters', R.BAD_REQUEST_PARAMETERS, 'INVALID_REQUEST', null, '400');
    respond('Default4xx', R.DEFAULT_4XX, 'INVALID_REQUEST', null);
    respond('Default5xx', R.DEFAULT_5XX, 'INTERNAL_ERROR', 'internal error');
  }
}
