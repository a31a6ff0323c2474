/**
 * The PostgreSQL adapter's bulk paths, as the authenticator with SET LOCAL ROLE (no HTTP, no
 * worker): describeTable, copyOut (row-level security applies), copyIn (one transaction, bad
 * records found without aborting it, the table unchanged on any failure), the staging role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CopyInRequest, ExecutionContext, FailedRecord } from '../../../src/warehouse/port.js';
import { PostgresWarehouse } from '../../../src/warehouse/postgres/index.js';
import { adminClient, pgFacts } from '../../helpers/pg-fixture.js';
import { createTenantTable, type TenantTable } from '../../helpers/tenant-tables.js';
import { tenantContext } from '../../helpers/warehouse-fixture.js';

let wh: PostgresWarehouse;
let table: TenantTable;

const ctx = (tenant: string, over: Partial<ExecutionContext> = {}) =>
  tenantContext(tenant, 'bulk-test', over);

beforeAll(async () => {
  const f = pgFacts();
  wh = new PostgresWarehouse({
    host: f.host,
    port: f.port,
    user: f.authenticator.user,
    password: f.authenticator.password,
    database: f.warehouseDb,
    poolSize: 4,
  });
  table = await createTenantTable(
    'wh',
    `id integer NOT NULL, name varchar(10), amount numeric(8,2) CHECK (amount >= 0), doc jsonb, tags text[], seen date`,
    'id',
  );
});
afterAll(async () => {
  await wh?.close();
  await table?.drop();
});

/** Staged CSV lines (`record, error, raw, values…`) as the importer writes them. */
async function* staged(lines: string[]): AsyncGenerator<Buffer> {
  for (const l of lines) yield Buffer.from(`${l}\n`);
}

async function load(
  tenant: string,
  req: Omit<CopyInRequest, 'tenantId' | 'object' | 'delimiter'>,
  lines: string[],
) {
  const failed: FailedRecord[] = [];
  let closed = false;
  const outcome = await wh.copyIn(
    ctx(tenant),
    { ...req, tenantId: tenant, object: table.name, delimiter: ',' },
    staged(lines),
    {
      write: (b) => {
        failed.push(...b);
      },
      close: async () => {
        closed = true;
      },
    },
  );
  expect(closed).toBe(true);
  return { outcome, failed: failed.map((f) => [f.line, f.error]) };
}

const rows = (tenant: string) =>
  table.admin<Record<string, unknown>>(
    `SELECT id, name, amount::text, doc, tags, seen::text FROM public.${table.name} WHERE tenant_id = $1 ORDER BY id`,
    [tenant],
  );

describe('describeTable', () => {
  it('reports columns, unique keys and the role’s privileges from the catalog', async () => {
    const t = await wh.describeTable(ctx('acme'), table.name);
    expect(t).toMatchObject({ schema: 'public', name: table.name, tenantColumn: 'tenant_id' });
    expect(t.uniqueKeys).toEqual([['tenant_id', 'id']]);
    expect(t.privileges).toEqual({ select: true, insert: true, update: true, delete: true });
    expect(t.columns.find((c) => c.name === 'amount')).toMatchObject({
      sqlType: 'numeric(8,2)',
      typeName: 'DECIMAL(8,2)',
    });
    const sales = await wh.describeTable(ctx('acme'), 'SALES');
    expect(sales.privileges).toEqual({ select: true, insert: false, update: false, delete: false });
  });

  it('refuses names that are not plain identifiers, system schemas and unknown tables alike', async () => {
    for (const name of [
      'sales; DROP TABLE sales',
      '"sales"',
      'pg_catalog.pg_authid',
      'spectra_rls.tenant_roles',
      'nope',
      'a.b.c',
    ]) {
      await expect(wh.describeTable(ctx('acme'), name), name).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
      });
    }
  });
});

describe('copyOut', () => {
  it('streams CSV as the tenant: row-level security applies, booleans are true/false, NULL is empty', async () => {
    const chunks: Buffer[] = [];
    let columns: unknown;
    const r = await wh.copyOut(
      ctx('globex'),
      {
        sql: "SELECT tenant_id, sale_id, quantity > 2 AS big, NULL::text AS none, '' AS blank FROM sales",
        params: [],
      },
      { delimiter: '|' },
      {
        columns: (c) => {
          columns = c;
        },
        data: (c) => {
          chunks.push(Buffer.from(c));
        },
      },
    );
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    expect(r.rowCount).toBe(lines.length);
    expect(new Set(lines.map((l) => l.split('|')[0]))).toEqual(new Set(['globex']));
    expect(lines[0]).toMatch(/^globex\|\d+\|(true|false)\|\|""$/);
    expect(columns).toEqual([
      { name: 'tenant_id', type: 'VARCHAR' },
      { name: 'sale_id', type: 'BIGINT' },
      { name: 'big', type: 'BOOLEAN' },
      { name: 'none', type: 'VARCHAR' },
      { name: 'blank', type: 'VARCHAR' },
    ]);
  });
});

describe('copyIn', () => {
  it('loads good records and reports each bad one, in record order, with its reason', async () => {
    const { outcome, failed } = await load(
      'acme',
      {
        operation: 'insert',
        columns: ['id', 'name', 'amount', 'doc', 'tags', 'seen', 'tenant_id'],
        externalId: null,
      },
      [
        '1,,,1,one,1.50,"{""a"": [1, {""b"": null}]}","{x,""y z""}",2024-02-29,acme',
        '2,,,2,two,-1,,,,',
        '3,,,3,toolongname,1,,,,',
        '4,,,x,four,1,,,,',
        '5,"expected 7 fields, found 2","x,y",,,,,,,',
        '6,,,6,six,1,{bad,,,',
        '7,,,7,seven,1,,,2024-02-30,',
        '8,,,8,eight,1,,,,globex',
        '9,,,1,dup,1,,,,',
        '10,,,10,,,,{},,',
        '11,,,,,,,,,',
      ],
    );
    expect(failed).toEqual([
      [2, 'violates check constraint "' + `${table.name}_amount_check"`],
      [3, 'name: value too long for type character varying(10)'],
      [4, 'id: invalid input syntax for type integer: "x"'],
      [5, 'expected 7 fields, found 2'],
      [6, expect.stringMatching(/^doc: invalid input syntax for type json/)],
      [7, expect.stringMatching(/^seen: date\/time field value out of range: "2024-02-30"/)],
      [8, 'tenant_id: globex is not the tenant of this credential'],
      [9, 'id 1 appears more than once in the file (first in record 1)'],
      [11, 'id: null value violates the NOT NULL constraint'],
    ]);
    expect(outcome).toMatchObject({ processed: 11, loaded: 2, failed: 9 });
    expect(await rows('acme')).toEqual([
      {
        id: 1,
        name: 'one',
        amount: '1.50',
        doc: { a: [1, { b: null }] },
        tags: ['x', 'y z'],
        seen: '2024-02-29',
      },
      { id: 10, name: null, amount: null, doc: null, tags: [], seen: null },
    ]);
  });

  it('insert: a key that already exists is a failed record; upsert updates it; update/delete report unknown keys', async () => {
    const cols = ['id', 'name'];
    const ins = await load('acme', { operation: 'insert', columns: cols, externalId: null }, [
      '1,,,1,again',
      '2,,,20,twenty',
    ]);
    expect(ins.failed).toEqual([[1, 'a row with this id already exists']]);
    const up = await load('acme', { operation: 'upsert', columns: cols, externalId: 'id' }, [
      '1,,,1,uno',
      '2,,,21,new',
    ]);
    expect(up).toMatchObject({ failed: [], outcome: { loaded: 2 } });
    const upd = await load('acme', { operation: 'update', columns: cols, externalId: 'id' }, [
      '1,,,20,veinte',
      '2,,,99,nobody',
    ]);
    expect(upd.failed).toEqual([[2, 'no row with id 99']]);
    expect(upd.outcome.loaded).toBe(1);
    const del = await load('acme', { operation: 'delete', columns: ['id'], externalId: 'id' }, [
      '1,,,21',
      '2,,,98',
    ]);
    expect(del.failed).toEqual([[2, 'no row with id 98']]);
    expect((await rows('acme')).map((r) => [r.id, r.name])).toEqual([
      [1, 'uno'],
      [10, null],
      [20, 'veinte'],
    ]);
  });

  it('never touches another tenant’s rows: its keys are "no row" for update and delete', async () => {
    await load('globex', { operation: 'insert', columns: ['id', 'name'], externalId: null }, [
      '1,,,20,globex-20',
    ]);
    const upd = await load('acme', { operation: 'delete', columns: ['id'], externalId: 'id' }, ['1,,,30']);
    expect(upd.failed).toEqual([[1, 'no row with id 30']]);
    expect((await rows('globex')).map((r) => [r.id, r.name])).toEqual([[20, 'globex-20']]);
  });

  it('write permission comes from the database: an import into sales is refused naming the privilege', async () => {
    const before = await table.admin<{ n: number }>('SELECT count(*)::int AS n FROM sales');
    await expect(
      wh.copyIn(
        ctx('acme'),
        {
          object: 'sales',
          operation: 'insert',
          columns: ['sale_id'],
          externalId: null,
          tenantId: 'acme',
          delimiter: ',',
        },
        staged(['1,,,999']),
        { write: () => {}, close: async () => {} },
      ),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'permission denied: role tenant_acme lacks the INSERT privilege on table public.sales',
    });
    expect(await table.admin('SELECT count(*)::int AS n FROM sales')).toEqual(before);
  });

  it('leaves the table unchanged when the load fails or is aborted part-way', async () => {
    const before = await rows('acme');
    // The records' source fails in the middle of the COPY.
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from('1,,,500,x\n');
      throw new Error('disk on fire');
    }
    await expect(
      wh.copyIn(
        ctx('acme'),
        {
          object: table.name,
          operation: 'insert',
          columns: ['id', 'name'],
          externalId: null,
          tenantId: 'acme',
          delimiter: ',',
        },
        broken(),
        {
          write: () => {},
          close: async () => {},
        },
      ),
    ).rejects.toThrow('disk on fire');
    // Aborted while the warehouse works: the signal cancels the statement.
    const controller = new AbortController();
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.from('1,,,501,x\n');
      controller.abort();
      await new Promise((r) => setTimeout(r, 50));
      yield Buffer.from('2,,,502,y\n');
    }
    await expect(
      wh.copyIn(
        ctx('acme', { signal: controller.signal }),
        {
          object: table.name,
          operation: 'insert',
          columns: ['id', 'name'],
          externalId: null,
          tenantId: 'acme',
          delimiter: ',',
        },
        slow(),
        { write: () => {}, close: async () => {} },
      ),
    ).rejects.toMatchObject({ code: 'QUERY_FAILED' });
    // The failed-records sink failing before COMMIT rolls everything back too.
    await expect(
      wh.copyIn(
        ctx('acme'),
        {
          object: table.name,
          operation: 'insert',
          columns: ['id', 'name'],
          externalId: null,
          tenantId: 'acme',
          delimiter: ',',
        },
        staged(['1,,,503,a', '2,,,x,b']),
        {
          write: () => {
            throw new Error('no space for failed records');
          },
          close: async () => {},
        },
      ),
    ).rejects.toThrow('no space for failed records');
    expect(await rows('acme')).toEqual(before);
  });

  it('quotes every identifier from the catalog: reserved words, spaces, quotes; a hostile header is just unknown', async () => {
    const odd = await createTenantTable(
      'odd',
      `"select" integer NOT NULL, "Mixed Case" text, "we""ird;--" text`,
      '"select"',
    );
    try {
      const cols = ['select', 'Mixed Case', 'we"ird;--'];
      const r = await wh.copyIn(
        ctx('acme'),
        {
          object: odd.name,
          operation: 'upsert',
          columns: cols,
          externalId: 'select',
          tenantId: 'acme',
          delimiter: ',',
        },
        staged(['1,,,1,a,"x, y"', '2,,,2,b,z']),
        { write: () => {}, close: async () => {} },
      );
      expect(r).toMatchObject({ loaded: 2, failed: 0 });
      expect(
        await odd.admin(
          `SELECT "select", "Mixed Case", "we""ird;--" AS w FROM public.${odd.name} ORDER BY 1`,
        ),
      ).toEqual([
        { select: 1, 'Mixed Case': 'a', w: 'x, y' },
        { select: 2, 'Mixed Case': 'b', w: 'z' },
      ]);
      await expect(
        wh.copyIn(
          ctx('acme'),
          {
            object: odd.name,
            operation: 'insert',
            columns: ['select', 'x"); DROP TABLE sales; --'],
            externalId: null,
            tenantId: 'acme',
            delimiter: ',',
          },
          staged([]),
          { write: () => {}, close: async () => {} },
        ),
      ).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringMatching(/^unknown column "x"\); DROP TABLE sales; --"/),
      });
    } finally {
      await odd.drop();
    }
  });

  it('stages as spectra_stager: tenant roles still cannot create tables', async () => {
    const admin = await adminClient();
    try {
      const r = await admin.query(
        `SELECT has_database_privilege('spectra_stager', current_database(), 'TEMPORARY') AS stager,
                has_database_privilege('tenant_acme', current_database(), 'TEMPORARY') AS tenant,
                (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'spectra_stager') AS login`,
      );
      expect(r.rows[0]).toEqual({ stager: true, tenant: false, login: false });
    } finally {
      await admin.end();
    }
  });
});
