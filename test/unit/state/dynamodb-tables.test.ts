/** The DynamoDB adapter reads and writes the tables the CDK stack creates: one design, configured by the stack's variables. */
import { describe, expect, it } from 'vitest';
import { TABLES, TTL_ATTRIBUTE } from '../../../infra/lib/table-design.js';
import { loadConfig } from '../../../src/config/index.js';
import { dynamoTableNames } from '../../../src/runtime/aws/dynamodb.js';
import { STATE_TABLES, stateTableNames } from '../../../src/state/dynamodb/index.js';
import { TTL_ATTRIBUTE as ADAPTER_TTL } from '../../../src/state/dynamodb/tables.js';

describe('DynamoDB state tables = infra/lib/table-design.ts', () => {
  it('every table the CDK stack creates is configured through the variable the stack sets on the functions', () => {
    const env = Object.fromEntries(Object.entries(TABLES).map(([t, design]) => [design.env, `x-${t}`]));
    expect(dynamoTableNames(loadConfig(env))).toEqual(
      Object.fromEntries(Object.keys(TABLES).map((t) => [t, `x-${t}`])),
    );
    expect(Object.keys(STATE_TABLES).sort()).toEqual(Object.keys(TABLES).sort());
  });

  it('TTL attribute and physical names (`<prefix>-<suffix>`)', () => {
    expect(ADAPTER_TTL).toBe(TTL_ATTRIBUTE);
    expect(stateTableNames('spectra')).toEqual({
      tenants: 'spectra-tenants',
      apiKeys: 'spectra-api-keys',
      jobs: 'spectra-jobs',
      bulkJobs: 'spectra-bulk-jobs',
      idempotency: 'spectra-idempotency',
      audit: 'spectra-audit',
      rateLimits: 'spectra-rate-limits',
      sessions: 'spectra-sessions',
    });
  });
});
