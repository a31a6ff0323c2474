/** The DynamoDB adapter reads and writes the tables the CDK stack creates: same keys, indexes, TTL. */
import { describe, expect, it } from 'vitest';
import { TABLES, TTL_ATTRIBUTE } from '../../../infra/lib/table-design.js';
import { STATE_TABLES, stateTableNames } from '../../../src/state/dynamodb/index.js';
import { TTL_ATTRIBUTE as ADAPTER_TTL } from '../../../src/state/dynamodb/tables.js';

describe('DynamoDB state tables = infra/lib/table-design.ts', () => {
  it.each(Object.keys(STATE_TABLES) as (keyof typeof STATE_TABLES)[])(
    '%s: suffix, key and indexes',
    (name) => {
      const infra = TABLES[name];
      const ours = STATE_TABLES[name];
      const sortKey = (t: object) => ('sortKey' in t ? t.sortKey : undefined);
      expect({
        suffix: ours.suffix,
        partitionKey: ours.partitionKey,
        sortKey: sortKey(ours),
        indexes: ours.indexes,
      }).toEqual({
        suffix: infra.suffix,
        partitionKey: infra.partitionKey,
        sortKey: sortKey(infra),
        indexes: infra.indexes,
      });
    },
  );

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
