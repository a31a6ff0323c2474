/** The bulk job state machine and the import rules read from a table's catalog description. */
import { describe, expect, it } from 'vitest';
import {
  planImportColumns,
  requireImportPrivileges,
  validateImportTarget,
} from '../../../src/domain/bulk-import-rules.js';
import {
  assertBulkTransition,
  BULK_STATES,
  type BulkJobState,
  bulkSourcesOf,
} from '../../../src/domain/bulk-job.js';
import { ApiError } from '../../../src/domain/errors.js';

describe('bulk job state machine', () => {
  const legal: [BulkJobState, BulkJobState][] = [
    ['Open', 'UploadComplete'],
    ['UploadComplete', 'InProgress'],
    ['InProgress', 'JobComplete'],
    ['InProgress', 'Failed'],
    ['InProgress', 'UploadComplete'],
    ['Open', 'Aborted'],
    ['UploadComplete', 'Aborted'],
    ['InProgress', 'Aborted'],
  ];

  it('allows exactly the documented moves; anything else is 409 with the current state', () => {
    for (const from of BULK_STATES) {
      for (const to of BULK_STATES) {
        const ok = legal.some(([f, t]) => f === from && t === to);
        if (ok) expect(() => assertBulkTransition(from, to)).not.toThrow();
        else {
          try {
            assertBulkTransition(from, to);
            throw new Error(`${from} → ${to} was allowed`);
          } catch (e) {
            expect(e).toBeInstanceOf(ApiError);
            expect((e as ApiError).status).toBe(409);
            expect((e as ApiError).details).toEqual({ state: from, requested: to });
          }
        }
      }
    }
    expect(bulkSourcesOf('Aborted')).toEqual(['Open', 'UploadComplete', 'InProgress']);
  });
});

const customers = {
  schema: 'public',
  name: 'customers',
  columns: [
    { name: 'customer_id', notNull: true, hasDefault: false, generated: false },
    { name: 'tenant_id', notNull: true, hasDefault: true, generated: false },
    { name: 'name', notNull: false, hasDefault: false, generated: false },
    { name: 'email', notNull: true, hasDefault: false, generated: false },
    { name: 'search', notNull: false, hasDefault: false, generated: true },
  ],
  uniqueKeys: [['tenant_id', 'customer_id'], ['email']],
  privileges: { select: true, insert: true, update: true, delete: false },
  tenantColumn: 'tenant_id',
};

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return `${(e as ApiError).code}: ${(e as Error).message}`;
  }
  return 'ok';
};

describe('import rules', () => {
  it('names the privilege the role lacks', () => {
    expect(code(() => requireImportPrivileges(customers, 'delete', 'tenant_acme'))).toBe(
      'FORBIDDEN: permission denied: role tenant_acme lacks the DELETE privilege on table public.customers',
    );
    expect(code(() => requireImportPrivileges(customers, 'upsert', 'tenant_acme'))).toBe('ok');
  });

  it('accepts an external id that is a unique key alone or with the tenant column, nothing else', () => {
    expect(code(() => validateImportTarget(customers, 'upsert', 'customer_id', 'r'))).toBe('ok');
    expect(code(() => validateImportTarget(customers, 'update', 'email', 'r'))).toBe('ok');
    expect(code(() => validateImportTarget(customers, 'upsert', 'name', 'r'))).toMatch(
      /^INVALID_REQUEST: external_id_field "name" is not a unique key of public.customers \(unique keys: \(tenant_id, customer_id\), \(email\)\)/,
    );
    expect(code(() => validateImportTarget(customers, 'update', 'nope', 'r'))).toMatch(/is not a column/);
    expect(code(() => validateImportTarget(customers, 'upsert', null, 'r'))).toMatch(
      /external_id_field is required/,
    );
  });

  it('maps the header to columns (case-insensitively when unambiguous) and names every offender', () => {
    expect(planImportColumns(customers, 'upsert', ['Customer_ID', 'email'], 'customer_id')).toEqual({
      columns: ['customer_id', 'email'],
      keyColumns: ['tenant_id', 'customer_id'],
    });
    expect(
      code(() => planImportColumns(customers, 'insert', ['customer_id', 'email', 'phone', 'fax'], null)),
    ).toMatch(
      /^INVALID_REQUEST: unknown columns "phone", "fax" in the file; public.customers has "customer_id", /,
    );
    expect(
      code(() => planImportColumns(customers, 'insert', ['customer_id', 'email', 'EMAIL'], null)),
    ).toMatch(/"email" appears more than once/);
    expect(
      code(() => planImportColumns(customers, 'insert', ['customer_id', 'email', 'search'], null)),
    ).toMatch(/generated column "search" cannot be written/);
    expect(code(() => planImportColumns(customers, 'insert', ['customer_id'], null))).toMatch(
      /lacks required column "email" \(NOT NULL without a default\)/,
    );
    expect(code(() => planImportColumns(customers, 'update', ['email', 'name'], 'customer_id'))).toMatch(
      /lacks the external id column "customer_id"/,
    );
    expect(code(() => planImportColumns(customers, 'update', ['customer_id'], 'customer_id'))).toMatch(
      /at least one column besides the external id/,
    );
    expect(code(() => planImportColumns(customers, 'delete', ['customer_id'], 'customer_id'))).toBe('ok');
  });
});
