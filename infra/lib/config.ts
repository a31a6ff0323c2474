/**
 * Deployment settings from CDK context (`-c key=value` or cdk.json), validated once. Every key is
 * documented in docs/deploy-aws.md; the defaults synthesize without an AWS account.
 */

export type RedshiftTarget =
  | { kind: 'serverless'; workgroup: string; workgroupId: string | null; database: string }
  | { kind: 'cluster'; clusterId: string; database: string };

/** `bundles`: dist/lambda/<fn> from `npm run build:lambda`; `placeholder`: inline stubs (tests); `auto`: bundles when built. */
export type LambdaCodeSource = 'bundles' | 'placeholder' | 'auto';

export interface SpectraConfig {
  /** Prefix of every physical name (tables, functions, queues). */
  prefix: string;
  stage: string;
  redshift: RedshiftTarget;
  /** Database users of tenants start with this; IAM scopes credentials to it. */
  dbUserPrefix: string;
  /** Existing app secret (JSON of SPECTRA_* keys); null = the stack creates one with a generated pepper. */
  secretArn: string | null;
  lambdaCode: LambdaCodeSource;
  /** Node.js major of the Lambda runtime (default 22: nodejs20.x is deprecated); the bundles target Node 20 and run on later ones. */
  nodeRuntime: 20 | 22 | 24;
  /** 0 disables API Gateway's authorizer cache; with 1, the authorizer's own key cache is switched off. */
  authorizerCacheTtlSeconds: 0 | 1;
  throttleRateLimit: number;
  throttleBurstLimit: number;
  usagePlans: boolean;
  usagePlanRateLimit: number;
  usagePlanBurstLimit: number;
  usagePlanQuotaPerDay: number;
  corsOrigins: string[];
  maxBodyBytes: number;
  /** Hours an async query job's result files are kept (SPECTRA_RESULT_TTL_HOURS); `results/` expires after as many whole days. */
  resultTtlHours: number;
  /** Days a bulk job and its files are kept (SPECTRA_BULK_JOB_TTL_DAYS); `bulk/` and `uploads/` expire after as many days. */
  bulkJobTtlDays: number;
  logRetentionDays: number;
  publicDocs: boolean;
  workerBatchSize: number;
  workerMaxRetries: number;
  workerParallelization: number;
  /** Minutes between worker sweeps (expired leases re-queued, claimable jobs the stream could not start run). */
  sweepMinutes: number;
  /** Minutes between retention passes (each Scans the jobs and idempotency tables). */
  retentionSweepMinutes: number;
  apiMemoryMb: number;
  workerMemoryMb: number;
  authorizerMemoryMb: number;
  alarmEmail: string | null;
  latencyP99AlarmMs: number;
  failedJobsAlarmThreshold: number;
  /** Tables and bucket are retained on stack deletion unless this is true. */
  destroyOnDelete: boolean;
}

export type ContextReader = (key: string) => unknown;

export class ConfigError extends Error {}

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
const NAME = /^[a-z][a-z0-9-]{1,30}$/;
const DB_IDENT = /^[a-z_][a-z0-9_$]{0,126}$/;

export function configFromContext(read: ContextReader): SpectraConfig {
  const problems: string[] = [];
  const str = (key: string, fallback: string): string => {
    const v = read(key);
    if (v === undefined || v === null || v === '') return fallback;
    return String(v);
  };
  const optional = (key: string): string | null => {
    const v = read(key);
    return v === undefined || v === null || v === '' ? null : String(v);
  };
  const num = (key: string, fallback: number, min: number, max: number): number => {
    const raw = read(key);
    if (raw === undefined || raw === null || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key}: expected an integer in [${min}, ${max}], got "${String(raw)}"`);
      return fallback;
    }
    return n;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const raw = read(key);
    if (raw === undefined || raw === null || raw === '') return fallback;
    if (raw === true || raw === 'true' || raw === '1') return true;
    if (raw === false || raw === 'false' || raw === '0') return false;
    problems.push(`${key}: expected true or false, got "${String(raw)}"`);
    return fallback;
  };
  const oneOf = <T extends string>(key: string, fallback: T, allowed: readonly T[]): T => {
    const v = str(key, fallback);
    if (!(allowed as readonly string[]).includes(v)) {
      problems.push(`${key}: expected one of ${allowed.join('|')}, got "${v}"`);
      return fallback;
    }
    return v as T;
  };

  const prefix = str('prefix', 'spectra');
  if (!NAME.test(prefix)) problems.push(`prefix: expected ${NAME}, got "${prefix}"`);
  const stage = str('stage', 'v1api');
  if (!/^[A-Za-z0-9_]{1,64}$/.test(stage)) problems.push(`stage: letters, digits and _ only, got "${stage}"`);
  const database = str('database', 'dev');
  if (!DB_IDENT.test(database)) problems.push(`database: not a Redshift identifier: "${database}"`);
  const dbUserPrefix = str('dbUserPrefix', 'tenant_');
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(dbUserPrefix)) {
    problems.push(`dbUserPrefix: lower-case letters, digits and _ only, got "${dbUserPrefix}"`);
  }

  let redshift: RedshiftTarget;
  const kind = oneOf('redshift', 'serverless', ['serverless', 'cluster'] as const);
  if (kind === 'cluster') {
    const clusterId = optional('clusterId');
    if (!clusterId || !/^[a-z][a-z0-9-]{0,62}$/.test(clusterId)) {
      problems.push('clusterId: required with -c redshift=cluster (the cluster identifier)');
    }
    redshift = { kind, clusterId: clusterId ?? 'invalid', database };
  } else {
    const workgroup = str('workgroup', 'spectra');
    if (!/^[a-z0-9-]{3,64}$/.test(workgroup))
      problems.push(`workgroup: not a workgroup name: "${workgroup}"`);
    const workgroupId = optional('workgroupId');
    if (workgroupId !== null && !/^[0-9a-f-]{36}$/.test(workgroupId)) {
      problems.push(`workgroupId: expected the workgroup's UUID, got "${workgroupId}"`);
    }
    redshift = { kind, workgroup, workgroupId, database };
  }

  const retention = (days: number): number => {
    if (!LOG_RETENTION_DAYS.includes(days)) {
      problems.push(`logRetentionDays: CloudWatch accepts ${LOG_RETENTION_DAYS.join(', ')}; got ${days}`);
    }
    return days;
  };
  const ttl = num('authorizerCacheTtlSeconds', 0, 0, 1) as 0 | 1;
  const corsOrigins = str('corsOrigins', '*')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

  for (const retired of ['resultsExpiryDays', 'uploadsExpiryDays']) {
    if (read(retired) !== undefined)
      problems.push(`${retired}: retired; the bucket's expiry follows resultTtlHours and bulkJobTtlDays`);
  }
  const config: SpectraConfig = {
    prefix,
    stage,
    redshift,
    dbUserPrefix,
    secretArn: optional('secretArn'),
    lambdaCode: oneOf('lambdaCode', 'auto', ['bundles', 'placeholder', 'auto'] as const),
    nodeRuntime: Number(oneOf('nodeRuntime', '22', ['20', '22', '24'] as const)) as 20 | 22 | 24,
    authorizerCacheTtlSeconds: ttl,
    throttleRateLimit: num('throttleRateLimit', 200, 1, 10_000),
    throttleBurstLimit: num('throttleBurstLimit', 400, 1, 5_000),
    usagePlans: bool('usagePlans', false),
    usagePlanRateLimit: num('usagePlanRateLimit', 20, 1, 10_000),
    usagePlanBurstLimit: num('usagePlanBurstLimit', 40, 1, 5_000),
    usagePlanQuotaPerDay: num('usagePlanQuotaPerDay', 100_000, 1, 1_000_000_000),
    corsOrigins,
    maxBodyBytes: num('maxBodyBytes', 1_048_576, 1024, 6_000_000),
    resultTtlHours: num('resultTtlHours', 24, 1, 87_600),
    bulkJobTtlDays: num('bulkJobTtlDays', 30, 1, 3650),
    logRetentionDays: retention(num('logRetentionDays', 30, 1, 3653)),
    publicDocs: bool('publicDocs', true),
    workerBatchSize: num('workerBatchSize', 1, 1, 100),
    workerMaxRetries: num('workerMaxRetries', 2, 0, 10),
    workerParallelization: num('workerParallelization', 10, 1, 10),
    sweepMinutes: num('sweepMinutes', 1, 1, 60),
    retentionSweepMinutes: num('retentionSweepMinutes', 60, 5, 1440),
    apiMemoryMb: num('apiMemoryMb', 1024, 128, 10_240),
    workerMemoryMb: num('workerMemoryMb', 1024, 128, 10_240),
    authorizerMemoryMb: num('authorizerMemoryMb', 512, 128, 10_240),
    alarmEmail: optional('alarmEmail'),
    latencyP99AlarmMs: num('latencyP99AlarmMs', 5000, 100, 29_000),
    failedJobsAlarmThreshold: num('failedJobsAlarmThreshold', 10, 1, 1_000_000),
    destroyOnDelete: bool('destroyOnDelete', false),
  };
  if (config.corsOrigins.length === 0) problems.push('corsOrigins: at least one origin (or *)');
  if (problems.length) throw new ConfigError(`invalid CDK context:\n  ${problems.join('\n  ')}`);
  return config;
}
