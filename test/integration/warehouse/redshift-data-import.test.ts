/**
 * The Data API adapter's bulk import (`describeTable` + `copyIn` through COPY from S3 and two
 * BatchExecuteStatement transactions) on the Data API fake, s3rver and tenant tables with RLS:
 * the same TableDescription as the PostgreSQL adapter's, rows afterwards per operation, failed
 * records in record order with their reasons, a failing or aborted batch leaving the table
 * unchanged, and the staging objects deleted every time.
 */
import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  GetStatementResultCommand,
} from '@aws-sdk/client-redshift-data';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import type {
  CopyInRequest,
  ExecutionContext,
  FailedRecord,
  ImportOperation,
} from '../../../src/warehouse/port.js';
import type { PostgresWarehouse } from '../../../src/warehouse/postgres/index.js';
import type { RedshiftDataWarehouse } from '../../../src/warehouse/redshift-data/index.js';
import { StatementCancelledError } from '../../../src/warehouse/statement-cancelled.js';
import { isTransient } from '../../../src/worker/failure-policy.js';
import type { RedshiftDataFake } from '../../fakes/redshift-data-fake.js';
import { pgFacts } from '../../helpers/pg-fixture.js';
import {
  dataApiWarehouse,
  FAKE_CLUSTER,
  startRedshiftDataFake,
  testDataApiClient,
} from '../../helpers/redshift-data.js';
import { testS3Client, uniqueBucket } from '../../helpers/s3-fixture.js';
import { createTenantTable, type TenantTable } from '../../helpers/tenant-tables.js';
import { waitFor } from '../../helpers/time.js';
import { authenticatorWarehouse, tenantContext } from '../../helpers/warehouse-fixture.js';

const ROLE = 'arn:aws:iam::123456789012:role/spectra-redshift-s3';
const PEOPLE = `id integer NOT NULL, name varchar(12), score numeric(6,2), active boolean, born date,
  seen timestamptz, tags jsonb, code char(3), ref uuid`;

let s3: S3Client;
let bucket: string;
let fake: RedshiftDataFake;
/** Holds below release on the adapter's cancel, not after a guessed delay. */
const cancelsSeen = () => fake.requests.filter((r) => r.operation === 'CancelStatement').length;
let wh: RedshiftDataWarehouse;
let viaPostgres: PostgresWarehouse;
const tables: TenantTable[] = [];

const ctx = (tenant: string, over: Partial<ExecutionContext> = {}) =>
  tenantContext(tenant, 'import-test', over);

beforeAll(async () => {
  s3 = testS3Client();
  bucket = await uniqueBucket(s3, 'import');
  fake = await startRedshiftDataFake({ bulk: { s3 }, pageRows: 3 });
  wh = dataApiWarehouse(fake, { unload: { s3, bucket, prefix: 'results/', iamRoleArn: ROLE } });
  viaPostgres = authenticatorWarehouse();
});
afterAll(async () => {
  for (const t of tables) await t.drop();
  await wh?.close();
  await viaPostgres?.close();
  await fake?.stop();
  s3?.destroy();
});

async function people(label: string): Promise<TenantTable> {
  const t = await createTenantTable(label, PEOPLE, 'id');
  tables.push(t);
  return t;
}

/** Staged CSV as the service writes it: `record, error, raw, values…` (NULL = empty, '' = ""). */
function stagedCsv(records: (string | null)[][]): Uint8Array[] {
  const field = (v: string | null) =>
    v === null ? '' : v === '' || /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
  const text = records.map((r, i) => `${i + 1},,,${r.map(field).join(',')}\n`).join('');
  return [Buffer.from(text)];
}

async function* chunks(parts: Uint8Array[]) {
  for (const p of parts) yield p;
}

async function load(
  t: TenantTable,
  tenant: string,
  operation: ImportOperation,
  columns: string[],
  records: (string | null)[][],
  over: Partial<ExecutionContext> = {},
  extra: (string | null)[][] = [],
) {
  const failed: FailedRecord[] = [];
  let closed = false;
  const req: CopyInRequest = {
    object: t.name,
    operation,
    columns,
    externalId: operation === 'insert' ? null : 'id',
    tenantId: tenant,
    delimiter: ',',
  };
  const staged = stagedCsv(records);
  if (extra.length) staged.push(Buffer.from(extra.map((r) => `${r.join(',')}\n`).join('')));
  const outcome = await wh.copyIn!(ctx(tenant, over), req, chunks(staged), {
    write: (b) => void failed.push(...b),
    close: async () => {
      closed = true;
    },
  });
  return { outcome, failed, closed };
}

async function stagedKeys(tenant: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `results/${tenant}/` }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

const rowsOf = (t: TenantTable) =>
  t.admin(
    `SELECT tenant_id, id, name, score::text, active, born::text, seen, tags, code, ref::text FROM public.${t.name} ORDER BY tenant_id, id`,
  );

describe('describeTable over the Data API', () => {
  it('gives the PostgreSQL adapter`s description for the demo tables and a tenant table', async () => {
    const t = await people('describe');
    for (const name of ['sales', 'customers', 'products', t.name, `public.${t.name}`]) {
      const [a, b] = await Promise.all([
        wh.describeTable!(ctx('acme'), name),
        viaPostgres.describeTable(ctx('acme'), name),
      ]);
      expect(a, name).toEqual(b);
    }
    const d = await wh.describeTable!(ctx('acme'), t.name);
    expect(d.columns.map((c) => [c.name, c.sqlType, c.typeName, c.notNull])).toEqual([
      ['tenant_id', 'text', 'VARCHAR', true],
      ['id', 'integer', 'INTEGER', true],
      ['name', 'character varying(12)', 'VARCHAR(12)', false],
      ['score', 'numeric(6,2)', 'DECIMAL(6,2)', false],
      ['active', 'boolean', 'BOOLEAN', false],
      ['born', 'date', 'DATE', false],
      ['seen', 'timestamp with time zone', 'TIMESTAMPTZ', false],
      ['tags', 'jsonb', 'SUPER', false],
      ['code', 'character(3)', 'CHAR(3)', false],
      ['ref', 'uuid', 'UUID', false],
    ]);
    expect(d.uniqueKeys).toEqual([['tenant_id', 'id']]);
    expect(d.tenantColumn).toBe('tenant_id');
    expect(d.privileges).toEqual({ select: true, insert: true, update: true, delete: true });
  });

  it('an unknown table, a system schema or a hostile name is INVALID_REQUEST', async () => {
    for (const name of [
      'no_such_table',
      'pg_catalog.pg_authid',
      'information_schema.tables',
      "x'; DROP TABLE sales; --",
    ]) {
      const err = await wh.describeTable!(ctx('acme'), name).catch((e) => e);
      expect(err, name).toBeInstanceOf(ApiError);
      expect((err as ApiError).code, name).toBe('INVALID_REQUEST');
    }
  });
});

describe('copyIn through COPY from S3', () => {
  it('insert: good records load as the tenant; bad types, NOT NULL, duplicates, other tenant and existing keys fail in record order', async () => {
    const t = await people('insert');
    await t.admin(
      `INSERT INTO public.${t.name} (tenant_id, id, name) VALUES ('acme', 5, 'old'), ('globex', 1, 'theirs')`,
    );
    const cols = ['id', 'name', 'score', 'active', 'born', 'seen', 'tags', 'code', 'tenant_id'];
    const { outcome, failed, closed } = await load(t, 'acme', 'insert', cols, [
      ['1', 'Ada', '1.5', 'yes', '2024-02-29', '2024-01-01T10:00:00Z', '{"a":[1,2]}', 'abc', null],
      ['x', 'Bad', null, null, null, null, null, null, null],
      ['2', 'Too long a name', null, null, null, null, null, null, null],
      ['3', 'Big', '12345.678', null, null, null, null, null, null],
      ['4', 'Date', null, null, '2023-02-29', null, null, null, null],
      ['1', 'Again', null, null, null, null, null, null, null],
      [null, 'NoId', null, null, null, null, null, null, null],
      ['6', 'Spy', null, null, null, null, null, null, 'globex'],
      ['5', 'Exists', null, null, null, null, null, null, null],
      ['7', '', '-0.5', 'f', null, '2024-06-01 12:30:00+02:00', '"s"', 'é', null],
      ['8', 'Json', null, null, null, null, '{bad', null, 'acme'],
      ['9', 'Élan', '9999.99', '0', '1999-12-31', '2024-06-01', 'null', '', null],
    ]);
    expect(closed).toBe(true);
    expect(outcome).toMatchObject({ processed: 12, loaded: 2, failed: 10 });
    expect(outcome.statementRef).toMatch(/^rsd:/);
    expect(failed.map((f) => [f.line, f.error])).toEqual([
      [2, 'id: invalid input syntax for type integer: "x"'],
      [3, 'name: value too long for type character varying(12) (15 bytes)'],
      [4, 'score: numeric field overflow: "12345.678" does not fit DECIMAL(6,2)'],
      [5, 'born: invalid input syntax for type date: "2023-02-29"'],
      [6, 'id 1 appears more than once in the file (first in record 1)'],
      [7, 'id: null value violates the NOT NULL constraint'],
      [8, 'tenant_id: globex is not the tenant of this credential'],
      [9, 'a row with this id already exists'],
      [10, 'code: character(3) holds single-byte characters only: "é"'],
      [11, expect.stringMatching(/^tags: invalid input syntax for type json/)],
    ]);
    expect(failed[7]!.values).toEqual(['5', 'Exists', null, null, null, null, null, null, null]);
    expect(await rowsOf(t)).toEqual([
      expect.objectContaining({
        tenant_id: 'acme',
        id: 1,
        name: 'Ada',
        score: '1.50',
        active: true,
        born: '2024-02-29',
        tags: { a: [1, 2] },
        code: 'abc',
      }),
      expect.objectContaining({ tenant_id: 'acme', id: 5, name: 'old' }),
      expect.objectContaining({
        tenant_id: 'acme',
        id: 9,
        name: 'Élan',
        score: '9999.99',
        active: false,
        code: '   ',
        tags: null,
      }),
      expect.objectContaining({ tenant_id: 'globex', id: 1, name: 'theirs' }),
    ]);
    const batches = fake
      .statementsRun()
      .filter((s) => !s.id.includes(':') && s.sql.includes(t.name) && s.sql.startsWith('CREATE TEMP'));
    expect(batches).toHaveLength(2);
    expect(batches.every((b) => b.dbUser === 'tenant_acme' && b.status === 'FINISHED')).toBe(true);
    expect(await stagedKeys('acme')).toEqual([]);
  });

  it('update, upsert and delete by the external id; missing keys and duplicates fail; other tenants` rows are untouched', async () => {
    const t = await people('ops');
    await t.admin(
      `INSERT INTO public.${t.name} (tenant_id, id, name, score) VALUES ('acme', 1, 'a', 1), ('acme', 2, 'b', 2), ('acme', 3, 'c', 3), ('globex', 4, 'g', 4)`,
    );
    const upd = await load(
      t,
      'acme',
      'update',
      ['id', 'name'],
      [
        ['2', 'B2'],
        ['4', 'not mine'],
        ['002', 'dup'],
        ['9', 'nobody'],
        [null, 'no key'],
      ],
    );
    expect(upd.outcome).toMatchObject({ processed: 5, loaded: 1, failed: 4 });
    expect(upd.failed.map((f) => [f.line, f.error, f.values])).toEqual([
      [2, 'no row with id 4', ['4', 'not mine']],
      [3, 'id 002 appears more than once in the file (first in record 1)', ['002', 'dup']],
      [4, 'no row with id 9', ['9', 'nobody']],
      [5, 'id: the external id is missing', [null, 'no key']],
    ]);
    const ups = await load(
      t,
      'acme',
      'upsert',
      ['id', 'name', 'score'],
      [
        ['3', 'C3', '30'],
        ['7', 'new', '7.25'],
        ['8', 'bad', 'abc'],
      ],
    );
    expect(ups.outcome).toMatchObject({ processed: 3, loaded: 2, failed: 1 });
    expect(ups.failed.map((f) => f.error)).toEqual(['score: invalid input syntax for type numeric: "abc"']);
    const del = await load(t, 'acme', 'delete', ['id'], [['1'], ['4'], ['12']]);
    expect(del.outcome).toMatchObject({ processed: 3, loaded: 1, failed: 2 });
    expect(del.failed.map((f) => f.error)).toEqual(['no row with id 4', 'no row with id 12']);
    const rows = await t.admin<{ tenant_id: string; id: number; name: string; score: string }>(
      `SELECT tenant_id, id, name, score::text FROM public.${t.name} ORDER BY tenant_id, id`,
    );
    expect(rows).toEqual([
      { tenant_id: 'acme', id: 2, name: 'B2', score: '2.00' },
      { tenant_id: 'acme', id: 3, name: 'C3', score: '30.00' },
      { tenant_id: 'acme', id: 7, name: 'new', score: '7.25' },
      { tenant_id: 'globex', id: 4, name: 'g', score: '4.00' },
    ]);
    expect(await stagedKeys('acme')).toEqual([]);
  });

  it('records the reader rejected keep their reason and raw text, in order among the others', async () => {
    const t = await people('rejected');
    const { outcome, failed } = await load(t, 'acme', 'insert', ['id', 'name'], [['1', 'one']], {}, [
      ['2', '"expected 2 fields, found 3"', '"1,2,3"', '', ''],
    ]);
    expect(outcome).toMatchObject({ processed: 2, loaded: 1, failed: 1 });
    expect(failed).toEqual([
      { line: 2, error: 'expected 2 fields, found 3', raw: '1,2,3', values: [null, null] },
    ]);
  });

  it('a statement failing in the apply batch rolls it all back: the table is unchanged, staging deleted', async () => {
    const t = await people('rollback');
    await t.admin(`INSERT INTO public.${t.name} (tenant_id, id, name) VALUES ('acme', 1, 'kept')`);
    // INTERVAL has no check in TypeScript: only the warehouse's cast rejects the value.
    await t.admin(`ALTER TABLE public.${t.name} ADD COLUMN span interval`);
    const err = await load(
      t,
      'acme',
      'upsert',
      ['id', 'name', 'span'],
      [
        ['1', 'changed', '1 day'],
        ['2', 'new', 'forever'],
      ],
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toMatch(/invalid input syntax for type interval/);
    expect(await t.admin(`SELECT id, name FROM public.${t.name} ORDER BY id`)).toEqual([
      { id: 1, name: 'kept' },
    ]);
    expect(await stagedKeys('acme')).toEqual([]);
  });

  it('an abort while the apply batch runs cancels it (CancelStatement): nothing applied, staging deleted', async () => {
    const t = await people('abort');
    await t.admin(`INSERT INTO public.${t.name} (tenant_id, id, name) VALUES ('acme', 1, 'kept')`);
    const controller = new AbortController();
    fake.holdBatches({
      before: new RegExp(`^UPDATE "public"."${t.name}"`),
      wait: async () => {
        const seen = cancelsSeen();
        controller.abort();
        await waitFor(() => cancelsSeen() > seen, { what: 'CancelStatement' });
      },
    });
    try {
      const err = await load(t, 'acme', 'update', ['id', 'name'], [['1', 'changed']], {
        signal: controller.signal,
      }).catch((e) => e);
      expect(err).toBeInstanceOf(StatementCancelledError);
    } finally {
      fake.holdBatches(undefined);
    }
    const batch = fake
      .statementsRun()
      .findLast((s) => !s.id.includes(':') && s.sql.includes(`UPDATE "public"."${t.name}"`))!;
    expect(batch.status).toBe('ABORTED');
    expect(fake.requests.some((r) => r.operation === 'CancelStatement' && r.input.Id === batch.id)).toBe(
      true,
    );
    expect(await t.admin(`SELECT id, name FROM public.${t.name}`)).toEqual([{ id: 1, name: 'kept' }]);
    expect(await stagedKeys('acme')).toEqual([]);
  });

  it('a timeout during the validation batch is QUERY_TIMEOUT: batch cancelled, nothing applied, staging deleted', async () => {
    const t = await people('timeout');
    await t.admin(`INSERT INTO public.${t.name} (tenant_id, id, name) VALUES ('acme', 1, 'kept')`);
    fake.holdBatches({
      before: /^SELECT s\._line/,
      wait: async () => {
        const seen = cancelsSeen();
        await waitFor(() => cancelsSeen() > seen, { what: 'CancelStatement' });
      },
    });
    try {
      const err = await load(t, 'acme', 'delete', ['id'], [['1']], { timeoutMs: 700 }).catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('QUERY_TIMEOUT');
    } finally {
      fake.holdBatches(undefined);
    }
    const batch = fake
      .statementsRun()
      .findLast((s) => !s.id.includes(':') && s.sql.includes(`"public"."${t.name}"`))!;
    expect(batch.status).toBe('ABORTED');
    expect(fake.statementsRun().some((s) => s.sql.startsWith(`DELETE FROM "public"."${t.name}"`))).toBe(
      false,
    );
    expect(await t.admin(`SELECT id, name FROM public.${t.name}`)).toEqual([{ id: 1, name: 'kept' }]);
    expect(await stagedKeys('acme')).toEqual([]);
  });

  it.each([
    ['a checked row deleted by another writer', `DELETE FROM public.%t WHERE id = 2`],
    [
      'a missing row inserted by another writer',
      `INSERT INTO public.%t (tenant_id, id, name) VALUES ('acme', 9, 'late')`,
    ],
  ])(
    '%s between the check and the write: nothing applied, the job will be retried (40001)',
    async (_, change) => {
      const t = await people(`race${Math.random().toString(36).slice(2, 6)}`);
      await t.admin(
        `INSERT INTO public.${t.name} (tenant_id, id, name) VALUES ('acme', 1, 'a'), ('acme', 2, 'b')`,
      );
      // The apply batch's guard statement runs after the other writer committed its change.
      fake.holdBatches({
        before: /^SELECT 1 \/ \(SELECT CASE WHEN COUNT/,
        wait: () => t.admin(change.replace('%t', t.name)).then(() => {}),
      });
      let err: unknown;
      try {
        err = await load(
          t,
          'acme',
          'update',
          ['id', 'name'],
          [
            ['1', 'A'],
            ['2', 'B'],
            ['9', 'I'],
          ],
        ).catch((e) => e);
      } finally {
        fake.holdBatches(undefined);
      }
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({
        code: 'QUERY_FAILED',
        details: { sqlstate: '40001', reason: 'concurrent_change' },
      });
      expect(isTransient(err)).toBe(true);
      const names = await t.admin<{ id: number; name: string }>(
        `SELECT id, name FROM public.${t.name} ORDER BY id`,
      );
      expect(names.find((r) => r.id === 1)).toEqual({ id: 1, name: 'a' }); // not updated
      expect(await stagedKeys('acme')).toEqual([]);
    },
  );

  it('without S3 settings the adapter has no describeTable or copyIn (imports are refused)', () => {
    const plain = dataApiWarehouse(fake);
    expect(plain.copyIn).toBeUndefined();
    expect(plain.describeTable).toBeUndefined();
  });
});

describe('the fake`s BatchExecuteStatement', () => {
  const batch = async (Sqls: string[], extra: Record<string, unknown> = {}) => {
    const client = testDataApiClient(fake.url);
    try {
      const { Id } = await client.send(
        new BatchExecuteStatementCommand({
          Sqls,
          ClusterIdentifier: FAKE_CLUSTER,
          Database: pgFacts().warehouseDb,
          DbUser: 'tenant_acme',
          ...extra,
        }),
      );
      for (;;) {
        const d = await client.send(new DescribeStatementCommand({ Id }));
        if (['FINISHED', 'FAILED', 'ABORTED'].includes(d.Status!)) {
          const results =
            d.Status === 'FINISHED'
              ? await Promise.all(
                  d
                    .SubStatements!.filter((x) => x.HasResultSet)
                    .map((x) => client.send(new GetStatementResultCommand({ Id: x.Id }))),
                )
              : [];
          return { d, results };
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      client.destroy();
    }
  };

  it('runs every statement in one transaction as the DbUser; sub-statements are <id>:<n>', async () => {
    const t = await people('batch');
    const { d, results } = await batch([
      `INSERT INTO public.${t.name} (id, name) VALUES (1, 'a'), (2, 'b')`,
      `SELECT id, tenant_id, current_user AS who FROM public.${t.name} ORDER BY id`,
    ]);
    expect(d.Status).toBe('FINISHED');
    expect(d.SubStatements!.map((x) => [x.Id, x.Status, x.ResultRows, x.HasResultSet])).toEqual([
      [`${d.Id}:1`, 'FINISHED', 2, false],
      [`${d.Id}:2`, 'FINISHED', 2, true],
    ]);
    expect(results[0]!.Records!.map((r) => r.map((f) => f.longValue ?? f.stringValue))).toEqual([
      [1, 'acme', 'tenant_acme'],
      [2, 'acme', 'tenant_acme'],
    ]);
  });

  it('a failing sub-statement rolls back the ones before it; Parameters are refused', async () => {
    const t = await people('batchfail');
    const { d } = await batch([
      `INSERT INTO public.${t.name} (id, name) VALUES (1, 'a')`,
      `INSERT INTO public.${t.name} (id, name) VALUES (1, 'again')`,
      `INSERT INTO public.${t.name} (id, name) VALUES (3, 'c')`,
    ]);
    expect(d.Status).toBe('FAILED');
    expect(d.Error).toMatch(/duplicate key/);
    expect(d.SubStatements!.map((x) => x.Status)).toEqual(['ABORTED', 'FAILED', 'ABORTED']);
    expect(await t.admin(`SELECT * FROM public.${t.name}`)).toEqual([]);
    const refused = await batch(['SELECT 1'], { Parameters: [{ name: 'a', value: '1' }] }).catch((e) => e);
    expect((refused as Error).name).toBe('ValidationException');
  });
});
