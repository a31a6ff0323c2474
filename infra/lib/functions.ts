/**
 * The three Lambda functions (api, authorizer, worker): Node 22 on ARM64 (context nodeRuntime), X-Ray active, one log group
 * each with retention, and only the permissions each needs. Code comes from `npm run build:lambda`
 * (dist/lambda/<fn>/index.mjs) or, for fast synthesis in tests, an inline placeholder.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SETTINGS } from '../../src/config/index.js';
import { apiFunctionLimits, LAMBDA_SETTINGS } from '../../src/config/sections/lambda.js';
import { METRICS_NAMESPACE, SERVICE_NAMES } from '../../src/runtime/lambda/metric-names.js';
import type { SpectraConfig } from './config.js';
import type { ResultsBucket } from './results-bucket.js';
import type { StateTables } from './state-tables.js';
import { BUCKET_PREFIXES, TABLES, type TableName } from './table-design.js';
import { WarehouseAccess } from './warehouse-access.js';

export type FunctionName = 'api' | 'authorizer' | 'worker';

/** The variables the stack fills from its own resources, named by their settings rows (src/config). */
const LAMBDA_ENV = {
  warehouse: SETTINGS.warehouse.env,
  state: SETTINGS.state.env,
  storage: SETTINGS.storage.env,
  bucket: SETTINGS.s3BucketName.env,
  redshiftClusterId: SETTINGS.redshiftClusterId.env,
  redshiftWorkgroup: SETTINGS.redshiftWorkgroupName.env,
  redshiftDatabase: SETTINGS.redshiftDatabase.env,
  redshiftTenantSecretPrefix: SETTINGS.redshiftTenantSecretPrefix.env,
  redshiftS3RoleArn: SETTINGS.redshiftS3RoleArn.env,
  secretArn: LAMBDA_SETTINGS.secretArn.env,
  corsOrigins: SETTINGS.corsOrigins.env,
  usagePlans: LAMBDA_SETTINGS.usagePlans.env,
} as const;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLE_DIR = path.join(REPO_ROOT, 'dist', 'lambda');

const NODE_RUNTIMES = {
  20: lambda.Runtime.NODEJS_20_X,
  22: lambda.Runtime.NODEJS_22_X,
  24: lambda.Runtime.NODEJS_24_X,
} as const;

const PLACEHOLDER = `exports.handler = async () => { throw new Error('placeholder code: build with npm run build:lambda and deploy with -c lambdaCode=bundles'); };`;

/** The API Gateway integration gives up at 29 s; the function should stop first. */
const API_TIMEOUT = Duration.seconds(28);
/** Lambda's longest: a job gets what is left after writing its result (JOB_MAX_TIMEOUT). */
const WORKER_TIMEOUT = Duration.minutes(15);
/**
 * Longest statement of an async job (SPECTRA_JOB_MAX_TIMEOUT_SECONDS): one worker invocation must
 * run it, write its result and record it. The worker stops a run 15 s before its own timeout.
 */
const JOB_MAX_TIMEOUT = WORKER_TIMEOUT.minus(Duration.minutes(1));
const AUTHORIZER_TIMEOUT = Duration.seconds(10);

export interface SpectraFunctionsProps {
  config: SpectraConfig;
  tables: StateTables;
  bucket: ResultsBucket;
  appSecret: secretsmanager.ISecret;
  /** Role Redshift assumes for UNLOAD/COPY. */
  redshiftS3Role: iam.IRole;
  removalPolicy: RemovalPolicy;
}

export class SpectraFunctions extends Construct {
  readonly api: lambda.Function;
  readonly authorizer: lambda.Function;
  readonly worker: lambda.Function;
  readonly roles: Record<FunctionName, iam.Role>;

  constructor(scope: Construct, id: string, props: SpectraFunctionsProps) {
    super(scope, id);
    const { config } = props;
    const secretNamePrefix = `${config.prefix}/redshift/`;

    const common: Record<string, string> = {
      SPECTRA_HOME: '/tmp/spectra',
      SPECTRA_LOG_LEVEL: 'info',
      [LAMBDA_ENV.warehouse]: 'redshift-data',
      [LAMBDA_ENV.state]: 'dynamodb',
      [LAMBDA_ENV.storage]: 's3',
      [LAMBDA_ENV.secretArn]: props.appSecret.secretArn,
      [LAMBDA_ENV.bucket]: props.bucket.bucket.bucketName,
      SPECTRA_S3_PREFIX: BUCKET_PREFIXES.results,
      SPECTRA_S3_BULK_PREFIX: BUCKET_PREFIXES.bulk,
      SPECTRA_S3_UPLOADS_PREFIX: BUCKET_PREFIXES.uploads,
      // The same numbers as the bucket's lifecycle rules (results-bucket.ts): one setting each.
      SPECTRA_RESULT_TTL_HOURS: String(config.resultTtlHours),
      SPECTRA_BULK_JOB_TTL_DAYS: String(config.bulkJobTtlDays),
      [LAMBDA_ENV.redshiftDatabase]: config.redshift.database,
      [LAMBDA_ENV.redshiftTenantSecretPrefix]: secretNamePrefix,
      [LAMBDA_ENV.redshiftS3RoleArn]: props.redshiftS3Role.roleArn,
      SPECTRA_TENANT_DB_USER_TEMPLATE: `${config.dbUserPrefix}{tenant}`,
      // The API refuses what the worker could not finish in one invocation.
      SPECTRA_JOB_MAX_TIMEOUT_SECONDS: String(JOB_MAX_TIMEOUT.toSeconds()),
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };
    if (config.redshift.kind === 'cluster') common[LAMBDA_ENV.redshiftClusterId] = config.redshift.clusterId;
    else common[LAMBDA_ENV.redshiftWorkgroup] = config.redshift.workgroup;
    for (const [name, table] of Object.entries(props.tables.tables) as [TableName, { tableName: string }][]) {
      common[TABLES[name].env] = table.tableName;
    }

    const make = (name: FunctionName, memoryMb: number, timeout: Duration, env: Record<string, string>) => {
      const role = new iam.Role(this, `${pascal(name)}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Redshift Spectra ${name} function`,
      });
      const logGroup = new logs.LogGroup(this, `${pascal(name)}Logs`, {
        logGroupName: `/aws/lambda/${config.prefix}-${name}`,
        retention: config.logRetentionDays as logs.RetentionDays,
        removalPolicy: props.removalPolicy,
      });
      // Only this log group: no logs:CreateLogGroup, no "Resource": "*" from the basic execution policy.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      const fn = new lambda.Function(this, pascal(name), {
        functionName: `${config.prefix}-${name}`,
        runtime: NODE_RUNTIMES[config.nodeRuntime],
        architecture: lambda.Architecture.ARM_64,
        handler: 'index.handler',
        code: this.code(name, config.lambdaCode),
        memorySize: memoryMb,
        timeout,
        role,
        logGroup,
        tracing: lambda.Tracing.ACTIVE,
        environment: {
          ...common,
          ...env,
          POWERTOOLS_SERVICE_NAME: SERVICE_NAMES[name],
        },
      });
      props.appSecret.grantRead(role);
      return { fn, role };
    };

    const api = make('api', config.apiMemoryMb, API_TIMEOUT, {
      // Sync statement timeouts and inline result size follow from this function's timeout and Lambda's payload limit.
      ...apiFunctionLimits(API_TIMEOUT.toSeconds()),
      SPECTRA_MAX_BODY_BYTES: String(config.maxBodyBytes),
      [LAMBDA_ENV.corsOrigins]: config.corsOrigins.join(','),
    });
    const authorizer = make('authorizer', config.authorizerMemoryMb, AUTHORIZER_TIMEOUT, {
      // API Gateway's cache and the authorizer's key cache add up: together they stay within 1 s.
      SPECTRA_AUTH_CACHE_TTL_MS: String(1000 - config.authorizerCacheTtlSeconds * 1000),
      [LAMBDA_ENV.usagePlans]: config.usagePlans ? '1' : '0',
    });
    const worker = make('worker', config.workerMemoryMb, WORKER_TIMEOUT, {});
    this.api = api.fn;
    this.authorizer = authorizer.fn;
    this.worker = worker.fn;
    this.roles = { api: api.role, authorizer: authorizer.role, worker: worker.role };

    const { tables, bucket } = props;
    // API: every table (tenant admin lists tenants with a Scan), every prefix.
    for (const name of Object.keys(tables.tables) as TableName[]) {
      tables.grant(api.role, name, 'readwrite', { scan: name === 'tenants' });
    }
    bucket.grant(api.role, { results: 'readwrite', bulk: 'readwrite', uploads: 'readwrite' });

    // Authorizer: read tenants and keys; record a key's last use.
    tables.grant(authorizer.role, 'tenants', 'read', { actions: ['dynamodb:GetItem'] });
    tables.grant(authorizer.role, 'apiKeys', 'read', {
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    });

    // Worker: runs jobs (jobs, bulk jobs, sessions), reads tenants, writes audit entries. Its
    // retention sweep Scans jobs, bulk jobs and idempotency records for expired ones and deletes them.
    tables.grant(worker.role, 'jobs', 'readwrite', { scan: true });
    tables.grant(worker.role, 'bulkJobs', 'readwrite', { scan: true });
    tables.grant(worker.role, 'idempotency', 'readwrite', { scan: true });
    tables.grant(worker.role, 'sessions', 'readwrite');
    tables.grant(worker.role, 'tenants', 'read');
    tables.grant(worker.role, 'audit', 'readwrite', { actions: ['dynamodb:PutItem'] });
    // Uploads read-write: the retention sweep deletes a bulk job's upload with its other files.
    bucket.grant(worker.role, { results: 'readwrite', bulk: 'readwrite', uploads: 'readwrite' });

    const warehouse = new WarehouseAccess(this, {
      redshift: config.redshift,
      dbUserPrefix: config.dbUserPrefix,
      secretNamePrefix,
    });
    warehouse.grantTenantStatements(api.role);
    warehouse.grantTenantStatements(worker.role);
    warehouse.grantTenantProvisioning(api.role);
    api.fn.addEnvironment('SPECTRA_REDSHIFT_ADMIN_SECRET', warehouse.adminSecretName);
  }

  private code(name: FunctionName, source: SpectraConfig['lambdaCode']): lambda.Code {
    const dir = path.join(BUNDLE_DIR, name);
    const built = existsSync(path.join(dir, 'index.mjs'));
    if (source === 'bundles' && !built) {
      throw new Error(`dist/lambda/${name}/index.mjs is missing: run npm run build:lambda first`);
    }
    if (source === 'placeholder' || !built) {
      if (source === 'auto') {
        Annotations.of(this).addWarningV2(
          'spectra:placeholder-code',
          `dist/lambda/${name} not built: synthesizing a placeholder. Run npm run build:lambda before deploying.`,
        );
      }
      return lambda.Code.fromInline(PLACEHOLDER);
    }
    return lambda.Code.fromAsset(dir);
  }
}

function pascal(s: string): string {
  return `${s[0]!.toUpperCase()}${s.slice(1)}`;
}
