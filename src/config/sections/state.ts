/**
 * The control-state adapter: embedded or external PostgreSQL, or the DynamoDB tables.
 */
import * as z from 'zod/mini';
import { type ConfigOf, int, type Setting } from '../setting.js';

export const STATE_SETTINGS = {
  state: {
    env: 'SPECTRA_STATE',
    flag: 'state',
    cli: { arg: 'NAME', help: 'control-state adapter: postgres or dynamodb' },
    schema: z.enum(['postgres', 'dynamodb']),
    default: 'postgres',
    doc: 'Control-state adapter: `postgres` (embedded, or SPECTRA_STATE_URL) or `dynamodb` (the SPECTRA_DYNAMODB_*_TABLE_NAME tables; docs/aws.md).',
  },
  stateUrl: {
    env: 'SPECTRA_STATE_URL',
    flag: 'state-url',
    cli: { arg: 'URL', help: 'external control-state PostgreSQL' },
    schema: z.string(),
    default: '',
    doc: 'PostgreSQL connection URL of the control-state database. Empty = the embedded PostgreSQL.',
  },
  statePoolSize: {
    env: 'SPECTRA_STATE_POOL_SIZE',
    flag: 'state-pool-size',
    cli: { arg: 'N', help: 'control-state connections of this process' },
    schema: int(1, 1000),
    default: 10,
    doc: 'Connections in the control-state pool (per process), plus one that writes the records of synchronous queries.',
  },
  dynamodbTableName: {
    env: 'SPECTRA_DYNAMODB_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-jobs',
    doc: 'dynamodb: the jobs table (tables and indexes: docs/aws.md, infra/lib/table-design.ts).',
  },
  dynamodbBulkTableName: {
    env: 'SPECTRA_DYNAMODB_BULK_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-bulk-jobs',
    doc: 'dynamodb: the bulk jobs table (the Bulk API; its RUNNING jobs count in the jobs table).',
  },
  dynamodbTenantsTableName: {
    env: 'SPECTRA_DYNAMODB_TENANTS_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-tenants',
    doc: 'dynamodb: the tenants table.',
  },
  dynamodbApiKeysTableName: {
    env: 'SPECTRA_DYNAMODB_API_KEYS_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-api-keys',
    doc: 'dynamodb: the API keys table (hashes only).',
  },
  dynamodbIdempotencyTableName: {
    env: 'SPECTRA_DYNAMODB_IDEMPOTENCY_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-idempotency',
    doc: 'dynamodb: the idempotency records table.',
  },
  dynamodbAuditTableName: {
    env: 'SPECTRA_DYNAMODB_AUDIT_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-audit',
    doc: 'dynamodb: the audit trail table.',
  },
  dynamodbRateLimitsTableName: {
    env: 'SPECTRA_DYNAMODB_RATE_LIMITS_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-rate-limits',
    doc: 'dynamodb: the shared rate-limit buckets table.',
  },
  dynamodbSessionsTableName: {
    env: 'SPECTRA_DYNAMODB_SESSIONS_TABLE_NAME',
    schema: z.string().check(z.minLength(3), z.maxLength(255)),
    default: 'spectra-sessions',
    doc: 'dynamodb: the Redshift Data API sessions table (shared session reuse; TTL on expires_at).',
  },
} satisfies Record<string, Setting>;

export type StateConfig = ConfigOf<typeof STATE_SETTINGS>;
