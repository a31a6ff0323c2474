/**
 * The Data API adapter's bulk export (`copyOut` through UNLOAD to S3) on the Data API fake and
 * s3rver: the same bytes as the PostgreSQL adapter's `COPY … TO STDOUT` for the same statement and
 * tenant, row-level security, several parts streamed back in order, the staging objects deleted
 * on success, failure and cancellation; and the fake's COPY from S3 with the generated statement.
 */

import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import type {
  ColumnInfo,
  CopyOutOptions,
  ExecutionContext,
  StatementInput,
  Warehouse,
} from '../../../src/warehouse/port.js';
import type { PostgresWarehouse } from '../../../src/warehouse/postgres/index.js';
import type { RedshiftDataWarehouse } from '../../../src/warehouse/redshift-data/index.js';
import { copyStatement, unloadStatement } from '../../../src/warehouse/redshift-data/unload-copy-sql.js';
import { StatementCancelledError } from '../../../src/warehouse/statement-cancelled.js';
import type { RedshiftDataFake } from '../../fakes/redshift-data-fake.js';
import { adminClient } from '../../helpers/pg-fixture.js';
import { dataApiWarehouse, startRedshiftDataFake } from '../../helpers/redshift-data.js';
import { testS3Client, uniqueBucket } from '../../helpers/s3-fixture.js';
import { waitFor } from '../../helpers/time.js';
import { authenticatorWarehouse, tenantContext } from '../../helpers/warehouse-fixture.js';

const ROLE = 'arn:aws:iam::123456789012:role/spectra-redshift-s3';
/** The fake's "MB" for MAXFILESIZE: 5 MB parts are 5 KiB here, so small results make several parts. */
const FAKE_MB = 1024;

let s3: S3Client;
let bucket: string;
let fake: RedshiftDataFake;
let viaUnload: RedshiftDataWarehouse;
let viaPostgres: PostgresWarehouse;

const ctx = (tenant: string, over: Partial<ExecutionContext> = {}) =>
  tenantContext(tenant, 'bulk-test', over);

beforeAll(async () => {
  s3 = testS3Client();
  bucket = await uniqueBucket(s3, 'unload');
  fake = await startRedshiftDataFake({ bulk: { s3, megabyteBytes: FAKE_MB } });
  viaUnload = dataApiWarehouse(fake, {
    unload: { s3, bucket, prefix: 'results/', iamRoleArn: ROLE, maxFileSizeMb: 5 },
  });
  viaPostgres = authenticatorWarehouse();
});
afterAll(async () => {
  await viaUnload?.close();
  await viaPostgres?.close();
  await fake?.stop();
  s3?.destroy();
});

interface Exported {
  bytes: Buffer;
  rowCount: number;
  columns: ColumnInfo[];
  statementRef: string;
}

async function exportWith(
  wh: Warehouse,
  c: ExecutionContext,
  statement: StatementInput,
  opts: CopyOutOptions = { delimiter: ',' },
  onChunk?: (chunk: Uint8Array, index: number) => void | Promise<void>,
): Promise<Exported> {
  const chunks: Buffer[] = [];
  let columns: ColumnInfo[] = [];
  const r = await wh.copyOut!(c, statement, opts, {
    columns: (cols) => {
      columns = cols;
    },
    data: async (chunk) => {
      chunks.push(Buffer.from(chunk));
      await onChunk?.(chunk, chunks.length - 1);
    },
  });
  return { bytes: Buffer.concat(chunks), rowCount: r.rowCount, columns, statementRef: r.statementRef };
}

async function stagedKeys(tenant: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `results/${tenant}/` }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

const TRICKY = `SELECT tenant_id, sale_id, quantity > 2 AS big, NULL::text AS none, '' AS blank,
  E'a"b,c\\nd|e\\tf' AS quoted, 'é 😀 ß' AS unicode, E'back\\\\slash''quote' AS bs,
  CAST(sale_id AS numeric(12,2)) / 3 AS dec, DATE '2024-02-29' AS d
  FROM sales ORDER BY sale_id LIMIT 3000`;

/**
 * 2000 rows whose rows past `after` wait on advisory lock `key` (held by the test): the stand-in
 * lets advisory locks through as a test gate, the guard never does.
 */
const gatedAfter = (after: number, key: number, pad: string) =>
  `WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 2000)
   SELECT g, ${pad}, CASE WHEN g > ${after} THEN length(CAST(pg_advisory_xact_lock_shared(${key} + g * 0) AS text)) END AS gated FROM s`;

describe('copyOut through UNLOAD', () => {
  it.each([[','], ['|'], ['\t']] as const)(
    'writes the same bytes as the PostgreSQL adapter (delimiter %j): NULL vs "", quotes, newlines, unicode',
    async (delimiter) => {
      const statement = { sql: TRICKY, params: [] };
      const [a, b] = await Promise.all([
        exportWith(viaUnload, ctx('acme'), statement, { delimiter }),
        exportWith(viaPostgres, ctx('acme'), statement, { delimiter }),
      ]);
      expect(a.rowCount).toBeGreaterThan(0);
      expect(a.bytes.toString('utf8')).toBe(b.bytes.toString('utf8'));
      expect(a.bytes.equals(b.bytes)).toBe(true);
      expect(a.rowCount).toBe(b.rowCount);
      expect(a.columns).toEqual(b.columns);
      const first = a.bytes.toString('utf8').split('\n')[0]!;
      const d = delimiter;
      expect(first).toMatch(new RegExp(`^acme\\${d}\\d+\\${d}(true|false)\\${d}\\${d}""\\${d}"a""b,c$`));
      expect(a.statementRef).toMatch(/^rsd:/);
    },
  );

  it('runs as the tenant: row-level security decides the rows', async () => {
    const admin = await adminClient();
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM sales WHERE tenant_id = 'globex'");
    await admin.end();
    const out = await exportWith(viaUnload, ctx('globex'), {
      sql: 'SELECT tenant_id, current_user AS who FROM sales',
      params: [],
    });
    const lines = out.bytes.toString('utf8').trimEnd().split('\n');
    expect(out.rowCount).toBe(rows[0].n);
    expect(lines).toHaveLength(rows[0].n);
    expect(new Set(lines)).toEqual(new Set(['globex,tenant_globex']));
  });

  it('streams several parts back in the query order and deletes the staging objects', async () => {
    let seenWhileStreaming: string[] = [];
    const out = await exportWith(
      viaUnload,
      ctx('initech'),
      {
        sql: "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 1000) SELECT g, repeat('x', 50) AS pad FROM s ORDER BY g",
        params: [],
      },
      { delimiter: ',' },
      async (_chunk, index) => {
        if (index === 0) seenWhileStreaming = await stagedKeys('initech');
      },
    );
    const parts = seenWhileStreaming.filter((k) => /\/\d{3}\.gz$/.test(k));
    expect(parts.length).toBeGreaterThanOrEqual(10); // ~56 KB of CSV in 5 KiB parts
    expect(seenWhileStreaming.some((k) => k.endsWith('/manifest'))).toBe(true);
    expect(seenWhileStreaming.every((k) => k.startsWith('results/initech/bulk-test/unload-'))).toBe(true);
    const lines = out.bytes.toString('utf8').trimEnd().split('\n');
    expect(lines.map((l) => Number(l.split(',')[0]))).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(out.rowCount).toBe(1000);
    expect(await stagedKeys('initech')).toEqual([]);
    const unload = fake.statementsRun().find((s) => out.statementRef.startsWith(`rsd:${s.id}@`))!;
    expect(unload.sql).toMatch(/^UNLOAD \('WITH RECURSIVE s\(g\) AS .* SELECT g, repeat\(''x'', 50\)/);
    expect(unload.sql).toContain('GZIP MAXFILESIZE 5 MB MANIFEST VERBOSE PARALLEL OFF');
    expect(unload.dbUser).toBe('tenant_initech');
  });

  it('inlines bind parameters as literals: quotes and backslashes arrive intact', async () => {
    const hostile = `it's a \\' "test" \\\\ ); DROP TABLE sales; --`;
    const out = await exportWith(viaUnload, ctx('acme'), {
      sql: 'SELECT $1::text AS v, $2::int + 1 AS n FROM sales ORDER BY sale_id LIMIT 2',
      params: [hostile, -3],
    });
    const expected = `"${hostile.replaceAll('"', '""')}",-2\n`;
    expect(out.bytes.toString('utf8')).toBe(expected.repeat(2));
    expect(out.rowCount).toBe(2);
  });

  it('an empty result is zero bytes and zero rows', async () => {
    const out = await exportWith(viaUnload, ctx('acme'), {
      sql: 'SELECT 1 AS one FROM sales WHERE false',
      params: [],
    });
    expect(out.bytes.length).toBe(0);
    expect(out.rowCount).toBe(0);
    expect(out.columns).toEqual([{ name: 'one', type: 'INTEGER' }]);
    expect(await stagedKeys('acme')).toEqual([]);
  });

  it('a statement failing mid-way leaves no staging object behind', async () => {
    const err = await exportWith(viaUnload, ctx('acme'), {
      sql: "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 1000) SELECT g, repeat('y', 40) AS pad, 1 / (g - 900) AS boom FROM s ORDER BY g",
      params: [],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toMatch(/division by zero/);
    expect(await stagedKeys('acme')).toEqual([]);
  });

  it('cancelling while UNLOAD runs cancels the statement (CancelStatement) and deletes what it wrote', async () => {
    const controller = new AbortController();
    const isPart = (k: string) => /\/\d{3}\.gz$/.test(k);
    // Rows past 500 wait on a lock the test holds (pg_sleep is refused as on Redshift), so UNLOAD is still running.
    const gate = await adminClient();
    await gate.query('SELECT pg_advisory_lock(740081)');
    try {
      // Cancel once UNLOAD has written a part (not after a fixed delay a slow machine may not reach).
      const cancelled = waitFor(async () => {
        const keys = await stagedKeys('acme');
        return keys.some(isPart) ? keys : null;
      }).then((keys) => {
        controller.abort();
        return keys;
      });
      const err = await exportWith(viaUnload, ctx('acme', { signal: controller.signal }), {
        sql: gatedAfter(500, 740081, "repeat('z', 60) AS pad"),
        params: [],
      }).catch((e) => e);
      expect(err, JSON.stringify(err, Object.getOwnPropertyNames(err))).toBeInstanceOf(
        StatementCancelledError,
      );
      const writtenBeforeCancel = await cancelled;
      const cancels = fake.requests.filter((r) => r.operation === 'CancelStatement');
      const unload = fake.statementsRun().findLast((s) => s.sql.startsWith('UNLOAD'))!;
      expect(cancels.some((c) => c.input.Id === unload.id)).toBe(true);
      expect(unload.status).toBe('ABORTED');
      expect(writtenBeforeCancel.filter(isPart).length).toBeGreaterThan(0);
      expect(await stagedKeys('acme')).toEqual([]);
    } finally {
      await gate.query('SELECT pg_advisory_unlock(740081)');
      await gate.end();
    }
  });

  it('cancelling while the parts stream back stops the export and deletes the staging objects', async () => {
    const controller = new AbortController();
    const err = await exportWith(
      viaUnload,
      ctx('globex', { signal: controller.signal }),
      {
        sql: "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 2000) SELECT g, repeat('w', 80) AS pad FROM s ORDER BY g",
        params: [],
      },
      { delimiter: ',' },
      (_chunk, index) => {
        if (index === 1) controller.abort();
      },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(StatementCancelledError);
    expect(await stagedKeys('globex')).toEqual([]);
  });

  it('a timeout during UNLOAD is QUERY_TIMEOUT, and the staging prefix is emptied', async () => {
    // Rows past 300 wait on a lock the test holds until after the deadline.
    const gate = await adminClient();
    await gate.query('SELECT pg_advisory_lock(740082)');
    try {
      const err = await exportWith(viaUnload, ctx('initech', { timeoutMs: 600 }), {
        sql: gatedAfter(300, 740082, "repeat('t', 60) AS pad"),
        params: [],
      }).catch((e) => e);
      expect(err, JSON.stringify(err, Object.getOwnPropertyNames(err))).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('QUERY_TIMEOUT');
      expect(await stagedKeys('initech')).toEqual([]);
    } finally {
      await gate.query('SELECT pg_advisory_unlock(740082)');
      await gate.end();
    }
  });

  it('without UNLOAD settings the adapter has no copyOut (exports page through execute)', () => {
    expect(dataApiWarehouse(fake).copyOut).toBeUndefined();
  });
});

describe('the fake reads UNLOAD and COPY as Redshift does', () => {
  it('fails an UNLOAD with an option it does not know, as a syntax error', async () => {
    const err = await viaUnload
      .execute(
        ctx('acme'),
        {
          sql: `UNLOAD ('SELECT 1') TO 's3://${bucket}/results/acme/bogus/' IAM_ROLE '${ROLE}' FORMAT AS CSV SHOUTING`,
          params: [],
        },
        { columns: () => {}, rows: () => {} },
      )
      .catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toMatch(/syntax error at or near "SHOUTING"/);
  });

  it('names parts as Redshift does, repeats HEADER in each, writes a plain MANIFEST, refuses to overwrite', async () => {
    const keyPrefix = `results/acme/fake-check-${Date.now()}/`;
    const run = (allowOverwrite: boolean) =>
      viaUnload.execute(
        ctx('acme'),
        {
          sql: unloadStatement({
            query:
              "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 1000) SELECT g, 'v' || g AS v FROM s ORDER BY g",
            bucket,
            keyPrefix,
            iamRole: ROLE,
            format: 'CSV',
            header: true,
            maxFileSizeMb: 5,
            manifest: true,
            allowOverwrite,
          }),
          params: [],
        },
        { columns: () => {}, rows: () => {} },
      );
    await run(false);
    const keys = (
      await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix }))
    ).Contents!.map((o) => o.Key!.slice(keyPrefix.length));
    expect(keys.sort()).toEqual(['0000_part_00', '0000_part_01', 'manifest']);
    const read = async (name: string) =>
      (
        await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keyPrefix + name }))
      ).Body!.transformToString();
    const [part0, part1] = [await read('0000_part_00'), await read('0000_part_01')];
    expect(part0.startsWith('g,v\n1,v1\n')).toBe(true);
    expect(part1.startsWith('g,v\n')).toBe(true);
    expect(`${part0}${part1.slice(4)}`.split('\n').length - 2).toBe(1000);
    expect(JSON.parse(await read('manifest'))).toEqual({
      entries: [
        {
          url: `s3://${bucket}/${keyPrefix}0000_part_00`,
          meta: { content_length: Buffer.byteLength(part0) },
        },
        {
          url: `s3://${bucket}/${keyPrefix}0000_part_01`,
          meta: { content_length: Buffer.byteLength(part1) },
        },
      ],
    });
    const again = await run(false).catch((e) => e);
    expect((again as ApiError).message).toMatch(/unload destination on S3 is not empty/);
    await run(true);
  });

  it('loads a gzipped CSV object with the generated COPY, as the tenant, keeping NULL apart from ""', async () => {
    const table = `copy_target_${process.pid}_${Date.now()}`;
    const admin = await adminClient();
    await admin.query(`CREATE TABLE ${table} (id integer, "Name" text)`);
    await admin.query(`GRANT INSERT, SELECT ON ${table} TO tenant_acme`);
    try {
      const key = `uploads/acme/${table}/records.csv.gz`;
      const csv = 'id|Name\n1|plain\n2|\n3|""\n4|"multi\nline ""q"""\n';
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: gzipSync(csv) }));
      await viaUnload.execute(
        ctx('acme'),
        {
          sql: copyStatement({
            table: { schema: 'public', name: table },
            columns: ['id', 'Name'],
            bucket,
            key,
            iamRole: ROLE,
            delimiter: '|',
            gzip: true,
            ignoreHeader: 1,
          }),
          params: [],
        },
        { columns: () => {}, rows: () => {} },
      );
      const { rows } = await admin.query(`SELECT id, "Name" AS name FROM ${table} ORDER BY id`);
      expect(rows).toEqual([
        { id: 1, name: 'plain' },
        { id: 2, name: null },
        { id: 3, name: '' },
        { id: 4, name: 'multi\nline "q"' },
      ]);
      const copy = fake.statementsRun().findLast((s) => s.sql.startsWith('COPY'))!;
      expect(copy.dbUser).toBe('tenant_acme');
    } finally {
      await admin.query(`DROP TABLE ${table}`);
      await admin.end();
    }
  });
});
