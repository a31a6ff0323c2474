/**
 * The CDK app, synthesized in-process (no CLI, no AWS account) with placeholder Lambda code, and
 * checked against what the deployment promises: every route behind the authorizer except the
 * public ones, least-privilege IAM with a named list of unavoidable "*" resources, tables with TTL
 * and streams, a private TLS-only bucket, the alarms, and a worker trigger that only fires for jobs
 * that became runnable.
 */

import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, configFromContext } from '../../infra/lib/config.js';
import { publicPaths } from '../../infra/lib/rest-api.js';
import { SpectraStack } from '../../infra/lib/spectra-stack.js';
import { TABLES, TTL_ATTRIBUTE } from '../../infra/lib/table-design.js';
import { LAMBDA_RESPONSE_MAX_BYTES } from '../../src/config/sections/lambda.js';
import { createApp } from '../../src/http/app.js';
import type { QueryService } from '../../src/services/query-service.js';
import type { TenantService } from '../../src/services/tenant-service.js';
import type { StateStore } from '../../src/state/port.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON
type Json = Record<string, any>;

function synth(context: Record<string, unknown> = {}): Template {
  const app = new App({ context: { lambdaCode: 'placeholder', ...context } });
  const config = configFromContext((k) => app.node.tryGetContext(k));
  return Template.fromStack(new SpectraStack(app, 'Spectra', { config }));
}

let serverless: Template;
let cluster: Template;
beforeAll(() => {
  serverless = synth();
  cluster = synth({
    redshift: 'cluster',
    clusterId: 'analytics',
    database: 'warehouse',
    dbUserPrefix: 'tnt_',
    usagePlans: true,
    authorizerCacheTtlSeconds: 1,
    publicDocs: false,
  });
});

const resources = (t: Template, type: string): [string, Json][] =>
  Object.entries(t.toJSON().Resources as Record<string, Json>).filter(([, r]) => r.Type === type);

/** API Gateway resource id (logical id, or the root) → path. */
function resourcePaths(t: Template): Map<string, string> {
  const byId = new Map<string, Json>(resources(t, 'AWS::ApiGateway::Resource'));
  const paths = new Map<string, string>();
  const pathOf = (ref: Json): string => {
    if (ref['Fn::GetAtt']?.[1] === 'RootResourceId') return '/';
    const id = ref.Ref as string;
    const res = byId.get(id)!;
    const parent = pathOf(res.Properties.ParentId);
    return `${parent === '/' ? '' : parent}/${res.Properties.PathPart}`;
  };
  for (const [id] of byId) paths.set(id, pathOf({ Ref: id }));
  paths.set('root', '/');
  return paths;
}

interface ApiMethod {
  path: string;
  httpMethod: string;
  authorizationType: string;
  authorizerId: unknown;
  apiKeyRequired: boolean;
}

function methods(t: Template): ApiMethod[] {
  const paths = resourcePaths(t);
  return resources(t, 'AWS::ApiGateway::Method').map(([, m]) => {
    const ref = m.Properties.ResourceId;
    return {
      path: ref.Ref ? paths.get(ref.Ref)! : '/',
      httpMethod: m.Properties.HttpMethod,
      authorizationType: m.Properties.AuthorizationType,
      authorizerId: m.Properties.AuthorizerId,
      apiKeyRequired: m.Properties.ApiKeyRequired === true,
    };
  });
}

/** The resource API Gateway picks for a request path: a literal match, else the deepest greedy `{proxy+}`. */
function resolve(resourcePathsList: string[], requestPath: string): string {
  if (resourcePathsList.includes(requestPath)) return requestPath;
  const segments = requestPath.split('/').filter(Boolean);
  for (let i = segments.length - 1; i >= 0; i--) {
    const base = `/${segments.slice(0, i).join('/')}`;
    const greedy = `${base === '/' ? '' : base}/{proxy+}`;
    if (resourcePathsList.includes(greedy)) return greedy;
  }
  throw new Error(`no resource for ${requestPath}`);
}

/** API.md routes, including those other issues are still building (bulk, metrics, audit). */
const API_MD_ROUTES: [string, string][] = [
  ['POST', '/v1/queries'],
  ['GET', '/v1/jobs'],
  ['GET', '/v1/jobs/job-123'],
  ['GET', '/v1/jobs/job-123/results'],
  ['DELETE', '/v1/jobs/job-123'],
  ['POST', '/v1/bulk/jobs'],
  ['GET', '/v1/bulk/jobs'],
  ['GET', '/v1/bulk/jobs/bulk-1'],
  ['PATCH', '/v1/bulk/jobs/bulk-1'],
  ['GET', '/v1/bulk/jobs/bulk-1/upload-url'],
  ['GET', '/v1/bulk/jobs/bulk-1/results'],
  ['GET', '/v1/bulk/jobs/bulk-1/failed-results'],
  ['POST', '/v1/admin/tenants'],
  ['GET', '/v1/admin/tenants/acme/keys'],
  ['POST', '/v1/admin/tenants/acme/keys/k1/rotate'],
  ['DELETE', '/v1/admin/tenants/acme/keys/k1'],
  ['GET', '/v1/admin/audit'],
  ['GET', '/v1/downloads/acme/job-1/result.csv'],
  ['GET', '/metrics'],
  ['GET', '/ready'],
  ['GET', '/'],
  ['GET', '/health'],
  ['GET', '/openapi.json'],
  ['GET', '/docs'],
  ['GET', '/docs/assets/swagger-ui.css'],
];

/** Every route the app serves today, with path parameters filled in. */
function appRoutes(): [string, string][] {
  const unused = {} as never;
  const app = createApp({
    version: 'test',
    maxBodyBytes: 1024,
    authenticate: unused,
    queries: unused as QueryService,
    tenants: unused as TenantService,
    state: unused as StateStore,
    readiness: [],
  });
  return app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => [r.method, r.path.replace(/:[^/]+/g, 'x1').replace(/\/\*$/, '/x')] as [string, string]);
}

describe('REST API routes and the authorizer', () => {
  for (const [name, template, publicDocs] of [
    ['default', () => serverless, true],
    ['publicDocs=false', () => cluster, false],
  ] as const) {
    it(`${name}: every method except the public paths and CORS preflights has the REQUEST authorizer`, () => {
      const t = template();
      const authorizers = resources(t, 'AWS::ApiGateway::Authorizer');
      expect(authorizers).toHaveLength(1);
      const [authorizerId] = authorizers[0]!;
      const open = publicPaths({ publicDocs });
      const all = methods(t);
      expect(all.length).toBeGreaterThan(4);
      for (const m of all) {
        if (m.httpMethod === 'OPTIONS' || open.includes(m.path)) {
          expect(m.authorizationType, `${m.httpMethod} ${m.path}`).toBe('NONE');
        } else {
          expect(m, `${m.httpMethod} ${m.path}`).toMatchObject({
            authorizationType: 'CUSTOM',
            authorizerId: { Ref: authorizerId },
          });
        }
      }
      const proxied = new Set(all.filter((m) => m.authorizationType === 'CUSTOM').map((m) => m.path));
      expect([...proxied].sort()).toEqual(['/', '/{proxy+}']);
    });

    it(`${name}: every route of API.md and of the app reaches the API function with the authorizer, except the public ones`, () => {
      const t = template();
      const all = methods(t);
      const paths = [...new Set(all.map((m) => m.path))];
      const open = publicPaths({ publicDocs });
      for (const [method, route] of [...API_MD_ROUTES, ...appRoutes()]) {
        const resource = resolve(paths, route);
        const m = all.find((x) => x.path === resource && (x.httpMethod === 'ANY' || x.httpMethod === method));
        expect(m, `${method} ${route}`).toBeDefined();
        const isPublic =
          route === '/health' || (publicDocs && (route === '/openapi.json' || route.startsWith('/docs')));
        expect(open.includes(resource), `${method} ${route} → ${resource}`).toBe(isPublic);
        expect(m!.authorizationType, `${method} ${route}`).toBe(isPublic ? 'NONE' : 'CUSTOM');
      }
    });
  }

  it('the authorizer reads the Authorization header; API Gateway and the authorizer caches together stay within 1 s', () => {
    for (const [t, ttl, appCacheMs] of [
      [serverless, 0, '1000'],
      [cluster, 1, '0'],
    ] as const) {
      t.hasResourceProperties('AWS::ApiGateway::Authorizer', {
        Type: 'REQUEST',
        IdentitySource: 'method.request.header.Authorization',
        AuthorizerResultTtlInSeconds: ttl,
      });
      t.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 'spectra-authorizer',
        Environment: { Variables: Match.objectLike({ SPECTRA_AUTH_CACHE_TTL_MS: appCacheMs }) },
      });
    }
  });

  it('the stage is throttled, traced and access-logged; usage plans exist only when asked for', () => {
    serverless.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ Format: Match.stringLikeRegexp('authorizer.tenant_id') }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 200,
          ThrottlingBurstLimit: 400,
        }),
      ]),
    });
    serverless.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
    cluster.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    cluster.hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER' });
    expect(
      methods(cluster)
        .filter((m) => m.authorizationType === 'CUSTOM')
        .every((m) => m.apiKeyRequired),
    ).toBe(true);
  });

  it('gateway errors use the API error envelope', () => {
    serverless.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      StatusCode: '401',
      ResponseTemplates: {
        'application/json': Match.stringLikeRegexp(
          '"error":\\{"code":"UNAUTHORIZED".*"request_id":"\\$context.requestId"',
        ),
      },
    });
    serverless.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
      ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Retry-After': "'1'" }),
    });
  });
});

/** Every statement of every IAM policy in the template, with the role it is attached to. */
function statements(t: Template): { owner: string; statement: Json }[] {
  const out: { owner: string; statement: Json }[] = [];
  for (const [id, p] of resources(t, 'AWS::IAM::Policy')) {
    for (const s of p.Properties.PolicyDocument.Statement) out.push({ owner: id, statement: s });
  }
  for (const [id, r] of resources(t, 'AWS::IAM::Role')) {
    for (const p of r.Properties.Policies ?? []) {
      for (const s of p.PolicyDocument.Statement) out.push({ owner: id, statement: s });
    }
  }
  return out;
}

const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

describe('least-privilege IAM', () => {
  /** Actions AWS does not scope to a resource. Each statement granting them names nothing else. */
  const UNSCOPABLE = {
    xray: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    streams: ['dynamodb:ListStreams'],
    dataApiStatements: [
      'redshift-data:CancelStatement',
      'redshift-data:DescribeStatement',
      'redshift-data:GetStatementResult',
      'redshift-data:ListStatements',
    ],
  };

  for (const [name, template] of [
    ['serverless', () => serverless],
    ['cluster', () => cluster],
  ] as const) {
    it(`${name}: "Resource": "*" appears only for actions AWS cannot scope, and Data API statements only for our own roles`, () => {
      const star = statements(template()).filter(({ statement }) =>
        asArray(statement.Resource).includes('*'),
      );
      expect(star.length).toBeGreaterThan(0);
      const allowed = Object.values(UNSCOPABLE).flat();
      for (const { owner, statement } of star) {
        expect(statement.Effect).toBe('Allow');
        expect(asArray(statement.Resource)).toEqual(['*']);
        for (const action of asArray(statement.Action as string | string[])) {
          expect(allowed, `${owner}: ${action} on *`).toContain(action);
        }
        if (asArray(statement.Action).some((a: string) => a.startsWith('redshift-data:'))) {
          // Each role acts on its own statements only: its own role id, never the other function's.
          const condition = statement.Condition?.StringLike?.['redshift-data:statement-owner-iam-userid'];
          const role: string = condition?.['Fn::Join']?.[1]?.[0]?.['Fn::GetAtt']?.[0];
          expect(role, JSON.stringify(condition)).toBeTruthy();
          expect(owner.startsWith(role.replace(/[0-9A-F]{8}$/, ''))).toBe(true);
        }
      }
      const xrayOwners = star.filter(({ statement }) =>
        asArray(statement.Action).includes('xray:PutTraceSegments'),
      );
      expect(xrayOwners).toHaveLength(3);
    });

    it(`${name}: no wildcard actions`, () => {
      for (const { owner, statement } of statements(template())) {
        for (const action of asArray(statement.Action as string | string[])) {
          expect(action, owner).not.toMatch(/(^\*$|:\*$)/);
        }
      }
    });
  }

  it('the authorizer reads tenants and keys, and nothing of the warehouse or the bucket', () => {
    const authorizer = statements(serverless).filter(({ owner }) =>
      owner.startsWith('FunctionsAuthorizerRole'),
    );
    const actions = authorizer.flatMap(({ statement }) => asArray(statement.Action as string | string[]));
    expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
    ]);
    expect(actions.some((a) => /^(s3|redshift|redshift-data):/.test(a))).toBe(false);
  });

  it('cluster: temporary credentials only for database users with the tenant prefix', () => {
    const creds = statements(cluster).filter(({ statement }) =>
      asArray(statement.Action).includes('redshift:GetClusterCredentials'),
    );
    expect(creds).toHaveLength(2); // api and worker
    for (const { statement } of creds) {
      const arns = JSON.stringify(statement.Resource);
      expect(arns).toContain(':dbuser:analytics/tnt_*');
      expect(arns).toContain(':dbname:analytics/warehouse');
    }
    expect(JSON.stringify(statements(cluster))).toContain(':cluster:analytics');
  });

  it('serverless: no GetCredentials (it cannot be scoped to a database user); tenant secrets by name prefix', () => {
    const all = JSON.stringify(statements(serverless));
    expect(all).not.toContain('redshift-serverless:GetCredentials');
    expect(all).not.toContain('redshift:GetClusterCredentials');
    const secrets = statements(serverless).filter(
      ({ owner, statement }) =>
        owner.startsWith('FunctionsWorkerRole') &&
        asArray(statement.Action).includes('secretsmanager:GetSecretValue'),
    );
    expect(JSON.stringify(secrets)).toContain('secret:spectra/redshift/tenant_*');
  });

  it('bucket access is limited to the results/, bulk/ and uploads/ prefixes', () => {
    for (const { statement } of statements(serverless)) {
      const actions = asArray(statement.Action as string | string[]);
      if (!actions.some((a) => a.startsWith('s3:'))) continue;
      const text = JSON.stringify(statement.Resource) + JSON.stringify(statement.Condition ?? {});
      if (actions.includes('s3:ListBucket')) expect(text).toMatch(/results\/\*/);
      else if (!actions.includes('s3:GetBucketLocation'))
        expect(text).toMatch(/\/(results|bulk|uploads)\/\*/);
    }
  });
});

describe('state, storage, functions', () => {
  it('each table of table-design.ts is on demand with PITR, TTL on expires_at, NEW_AND_OLD_IMAGES streams and its indexes', () => {
    const tables = resources(serverless, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(Object.keys(TABLES).length);
    for (const design of Object.values(TABLES)) {
      serverless.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: `spectra-${design.suffix}`,
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        KeySchema: Match.arrayWith([{ AttributeName: design.partitionKey, KeyType: 'HASH' }]),
        ...(design.indexes.length
          ? {
              GlobalSecondaryIndexes: design.indexes.map((i) =>
                Match.objectLike({ IndexName: i.name, Projection: { ProjectionType: 'ALL' } }),
              ),
            }
          : {}),
      });
    }
  });

  it('the bucket blocks public access, is encrypted, denies non-TLS requests, expires results and uploads, allows presigned PUT from browsers', () => {
    serverless.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'results/', ExpirationInDays: 1, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'bulk/', ExpirationInDays: 30, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'uploads/', ExpirationInDays: 30, Status: 'Enabled' }),
        ]),
      },
      CorsConfiguration: {
        CorsRules: [Match.objectLike({ AllowedMethods: Match.arrayWith(['PUT', 'GET']) })],
      },
    });
    serverless.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('no object expires before the record that points to it: lifecycle rules follow the functions’ retention', () => {
    for (const [t, hours, days] of [
      [serverless, 24, 30],
      [synth({ resultTtlHours: 36, bulkJobTtlDays: 90 }), 36, 90],
    ] as const) {
      const [, bucket] = resources(t, 'AWS::S3::Bucket')[0]!;
      const rules = bucket.Properties.LifecycleConfiguration.Rules as Json[];
      const expiry = (prefix: string) => rules.find((r) => r.Prefix === prefix)?.ExpirationInDays as number;
      for (const [, fn] of resources(t, 'AWS::Lambda::Function')) {
        const env = fn.Properties.Environment.Variables as Record<string, string>;
        if (!env.SPECTRA_S3_BUCKET_NAME) continue;
        expect(Number(env.SPECTRA_RESULT_TTL_HOURS)).toBe(hours);
        expect(Number(env.SPECTRA_BULK_JOB_TTL_DAYS)).toBe(days);
        expect(expiry(env.SPECTRA_S3_PREFIX!) * 24).toBeGreaterThanOrEqual(hours);
        expect(expiry(env.SPECTRA_S3_BULK_PREFIX!)).toBeGreaterThanOrEqual(days);
        expect(expiry(env.SPECTRA_S3_UPLOADS_PREFIX!)).toBeGreaterThanOrEqual(days);
        expect(
          new Set([env.SPECTRA_S3_PREFIX, env.SPECTRA_S3_BULK_PREFIX, env.SPECTRA_S3_UPLOADS_PREFIX]).size,
        ).toBe(3);
      }
    }
    expect(() => synth({ resultsExpiryDays: 1 })).toThrow(/retired/);
  });

  it('the three functions run Node 22 (nodejs20.x is deprecated; -c nodeRuntime=20 still works) on ARM64 with active tracing', () => {
    const fns = resources(serverless, 'AWS::Lambda::Function');
    expect(fns.map(([, f]) => f.Properties.FunctionName).sort()).toEqual([
      'spectra-api',
      'spectra-authorizer',
      'spectra-worker',
    ]);
    for (const [, f] of fns) {
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
    }
    const node20 = resources(synth({ nodeRuntime: 20 }), 'AWS::Lambda::Function');
    expect(new Set(node20.map(([, f]) => f.Properties.Runtime))).toEqual(new Set(['nodejs20.x']));
  });

  it('the API function: sync statements end before the function does, inline results stay under Lambda’s 6 MB', () => {
    for (const t of [serverless, cluster]) {
      const [, api] = resources(t, 'AWS::Lambda::Function').find(
        ([, f]) => f.Properties.FunctionName === 'spectra-api',
      )!;
      const timeout = api.Properties.Timeout as number;
      const env = api.Properties.Environment.Variables as Record<string, string>;
      expect(Number(env.SPECTRA_LAMBDA_TIMEOUT_SECONDS)).toBe(timeout);
      expect(Number(env.SPECTRA_MAX_TIMEOUT_SECONDS)).toBeLessThan(timeout);
      expect(Number(env.SPECTRA_DEFAULT_TIMEOUT_SECONDS)).toBeLessThanOrEqual(
        Number(env.SPECTRA_MAX_TIMEOUT_SECONDS),
      );
      expect(Number(env.SPECTRA_MAX_RESULT_BYTES)).toBeGreaterThan(0);
      expect(Number(env.SPECTRA_MAX_RESULT_BYTES)).toBeLessThan(LAMBDA_RESPONSE_MAX_BYTES);
      expect(LAMBDA_RESPONSE_MAX_BYTES).toBeLessThanOrEqual(6_000_000);
    }
  });

  it('the worker is triggered by jobs that became QUEUED and bulk jobs that became UploadComplete, with bisect, retries and a DLQ', () => {
    const mappings = resources(serverless, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(2);
    const [dlqId] = resources(serverless, 'AWS::SQS::Queue')[0]!;
    const patterns = mappings.map(([, m]) => {
      expect(m.Properties).toMatchObject({
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 2,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } },
      });
      return m.Properties.FilterCriteria.Filters.map((f: Json) => JSON.parse(f.Pattern));
    });
    expect(patterns).toContainEqual([
      { eventName: ['INSERT'], dynamodb: { NewImage: { status: { S: ['QUEUED'] } } } },
      {
        eventName: ['MODIFY'],
        dynamodb: {
          NewImage: { status: { S: ['QUEUED'] } },
          OldImage: { status: { S: [{ 'anything-but': ['QUEUED'] }] } },
        },
      },
    ]);
    expect(JSON.stringify(patterns)).toContain('UploadComplete');
  });

  it('EventBridge sweeps the worker: leases and blocked jobs every minute (context sweepMinutes), retention hourly, never retried', () => {
    const workerId = resources(serverless, 'AWS::Lambda::Function').find(
      ([, f]) => f.Properties.FunctionName === 'spectra-worker',
    )![0];
    const rules = resources(serverless, 'AWS::Events::Rule').map(([, r]) => r.Properties);
    expect(rules.map((r) => [r.Name, r.ScheduleExpression, JSON.parse(r.Targets[0].Input)]).sort()).toEqual([
      ['spectra-retention', 'rate(1 hour)', { sweep: ['retention'] }],
      ['spectra-sweep', 'rate(1 minute)', { sweep: ['leases', 'queue'] }],
    ]);
    for (const r of rules) {
      expect(r.State).toBe('ENABLED');
      expect(r.Targets).toHaveLength(1);
      expect(r.Targets[0]).toMatchObject({
        Arn: { 'Fn::GetAtt': [workerId, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0 },
      });
    }
    const invokers = resources(serverless, 'AWS::Lambda::Permission')
      .map(([, p]) => p.Properties)
      .filter((p) => p.Principal === 'events.amazonaws.com');
    expect(invokers).toHaveLength(2);
    for (const p of invokers) expect(p.FunctionName).toEqual({ 'Fn::GetAtt': [workerId, 'Arn'] });

    const every5 = synth({ sweepMinutes: 5, retentionSweepMinutes: 30 });
    const schedules = resources(every5, 'AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression);
    expect(schedules.sort()).toEqual(['rate(30 minutes)', 'rate(5 minutes)']);
    expect(() => configFromContext((k) => ({ sweepMinutes: 0 })[k])).toThrow(/sweepMinutes/);
  });

  it('the worker may Scan only what its retention sweep reads: jobs, bulk jobs, idempotency records', () => {
    const tableIds = new Map(
      resources(serverless, 'AWS::DynamoDB::Table').map(([id, t]) => [id, t.Properties.TableName as string]),
    );
    const scanned = statements(serverless)
      .filter(
        ({ owner, statement }) =>
          owner.startsWith('FunctionsWorkerRole') && asArray(statement.Action).includes('dynamodb:Scan'),
      )
      .flatMap(({ statement }) => asArray(statement.Resource))
      .map((r: Json) => tableIds.get(r['Fn::GetAtt']?.[0]))
      .filter(Boolean);
    expect([...new Set(scanned)].sort()).toEqual([
      'spectra-bulk-jobs',
      'spectra-idempotency',
      'spectra-jobs',
    ]);
  });

  it('alarms watch 5xx rate, p99 latency, throttles of each function, DLQ depth and failed jobs', () => {
    const names = resources(serverless, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.AlarmName);
    expect(names).toEqual(
      expect.arrayContaining([
        'spectra-api-5xx-rate',
        'spectra-api-p99-latency',
        'spectra-api-throttles',
        'spectra-authorizer-throttles',
        'spectra-worker-throttles',
        'spectra-worker-dlq-depth',
        'spectra-jobs-failed',
      ]),
    );
    serverless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'spectra-jobs-failed',
      Namespace: 'RedshiftSpectra',
      MetricName: 'JobsFailed',
      Dimensions: [{ Name: 'service', Value: 'spectra-worker' }],
    });
    serverless.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('context validation', () => {
  it('a cluster target needs a cluster id; bad values are named', () => {
    const read = (ctx: Record<string, unknown>) => () => configFromContext((k) => ctx[k]);
    expect(read({ redshift: 'cluster' })).toThrow(ConfigError);
    expect(read({ redshift: 'cluster' })).toThrow(/clusterId/);
    expect(read({ authorizerCacheTtlSeconds: 300 })).toThrow(/authorizerCacheTtlSeconds/);
    expect(read({ logRetentionDays: 31 })).toThrow(/logRetentionDays/);
    expect(read({ dbUserPrefix: 'Tenant-' })).toThrow(/dbUserPrefix/);
    expect(read({})).not.toThrow();
  });
});
