/**
 * Acceptance (issue 6), round trip: export 100,000 rows of a tenant as CSV+GZIP and as Parquet,
 * re-import the CSV with upsert into a copy of the table, and compare content in SQL (checksums);
 * the Parquet file's typed columns must add up to the same aggregates as the table.
 */
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { bulkClient } from '../helpers/bulk.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { createTenantTable, type TenantTable } from '../helpers/tenant-tables.js';

const ROWS = 100_000;
const COLUMNS = `id integer NOT NULL, qty smallint, big bigint, amount numeric(12,2), ratio double precision,
  flag boolean, label text, code varchar(12), day date, at timestamp, atz timestamptz, doc jsonb`;
const NAMES = 'id, qty, big, amount, ratio, flag, label, code, day, at, atz, doc';

let spectra: TestSpectra;
let control: ControlDb;
let src: TenantTable;
let dst: TenantTable;

beforeAll(async () => {
  control = await createControlDb('bulk_rt');
  spectra = await startSpectra({ SPECTRA_STATE_URL: control.url, SPECTRA_WORKER_POLL_INTERVAL_MS: '200' });
  await startJobWorker(spectra.core);
  src = await createTenantTable('rt_src', COLUMNS, 'id');
  dst = await createTenantTable('rt_dst', COLUMNS, 'id');
  // Every type, NULLs, and the text values CSV must carry: quotes, delimiters, newlines, unicode, ''.
  await src.admin(`
    INSERT INTO public.${src.name} (tenant_id, ${NAMES})
    SELECT t, g, CAST(g % 30000 - 15000 AS smallint), g * 92233720368547 - 4611686018427387904, g * 1.37 - 50000,
           CASE WHEN g % 11 = 0 THEN NULL ELSE sqrt(g) / 7 END, CASE g % 3 WHEN 0 THEN true WHEN 1 THEN false END,
           CASE g % 9 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'say "hi", ' || g WHEN 3 THEN 'line' || chr(10) || g
                      WHEN 4 THEN 'naïve – 日本 🎉 ' || g WHEN 5 THEN 'tab' || chr(9) || 'pipe|' || g
                      WHEN 6 THEN 'cr' || chr(13) || chr(10) || g ELSE 'plain ' || g END,
           left(md5(g::text), 12), date '2000-01-01' + g % 10000,
           timestamp '2020-01-01 00:00:00' + g * interval '1.000123 second',
           timestamptz '2021-06-01 12:00:00+00' - g * interval '17 minutes',
           CASE WHEN g % 5 = 0 THEN NULL ELSE jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g % 7), 'ok', g % 2 = 0) END
      FROM generate_series(1, ${ROWS}) AS g, (VALUES ('acme')) AS v(t)
    UNION ALL
    SELECT 'globex', g, 1, 1, 1, 1, true, 'globex', 'g', date '2000-01-01', timestamp '2020-01-01', timestamptz '2020-01-01', NULL
      FROM generate_series(1, 1000) AS g`);
});
afterAll(async () => {
  await spectra?.close();
  await control?.drop();
  await src?.drop();
  await dst?.drop();
});

const checksum = async (t: TenantTable) =>
  (
    await t.admin<{ n: number; md5: string }>(
      `SELECT count(*)::int AS n, md5(string_agg(r::text, '|' ORDER BY r.id)) AS md5
         FROM (SELECT ${NAMES} FROM public.${t.name} WHERE tenant_id = 'acme') r`,
    )
  )[0]!;

it('exports 100,000 rows as CSV+GZIP and re-imports them with upsert into a copy: identical content', async () => {
  const bulk = bulkClient(spectra);
  const exp = await bulk.run('acme', {
    operation: 'query',
    query: `SELECT * FROM ${src.name}`,
    content_type: 'CSV',
    compression: 'GZIP',
  });
  expect(exp).toMatchObject({ state: 'JobComplete', number_records_processed: ROWS });
  const { bytes, results } = await bulk.download('acme', exp.job_id);
  expect(results).toMatchObject({ row_count: ROWS, compression: 'GZIP', size_bytes: bytes.length });

  // Half the rows exist already with other values: the upsert must update them and insert the rest.
  await dst.admin(
    `INSERT INTO public.${dst.name} (tenant_id, id, label) SELECT 'acme', g, 'stale' FROM generate_series(1, ${ROWS}, 2) AS g`,
  );
  const imp = await bulk.run(
    'acme',
    { operation: 'upsert', object: dst.name, external_id_field: 'id', compression: 'GZIP' },
    bytes,
  );
  expect(imp).toMatchObject({
    state: 'JobComplete',
    number_records_processed: ROWS,
    number_records_failed: 0,
  });
  expect((await bulk.results('acme', imp.job_id)).number_records_loaded).toBe(ROWS);
  const [a, b] = [await checksum(src), await checksum(dst)];
  expect(a.n).toBe(ROWS);
  expect(b).toEqual(a);
  expect(
    await dst.admin(`SELECT count(*)::int AS n FROM public.${dst.name} WHERE tenant_id <> 'acme'`),
  ).toEqual([{ n: 0 }]);
});

it('exports the same 100,000 rows as Parquet whose typed columns add up to the table', async () => {
  const bulk = bulkClient(spectra);
  const exp = await bulk.run('acme', {
    operation: 'query',
    query: `SELECT ${NAMES} FROM ${src.name}`,
    content_type: 'PARQUET',
  });
  expect(exp).toMatchObject({ state: 'JobComplete', number_records_processed: ROWS });
  const t = arrow.tableFromIPC(
    parquet.readParquet((await bulk.download('acme', exp.job_id)).bytes).intoIPCStream(),
  );
  expect(t.numRows).toBe(ROWS);
  const values = <T>(name: string) => [...t.getChild(name)!] as T[];
  const sumBig = (xs: (bigint | null)[]) => xs.reduce<bigint>((s, x) => s + (x ?? 0n), 0n);
  const micros = (name: string) => {
    let s = 0n;
    for (const chunk of t.getChild(name)!.data) {
      const v = chunk.values as BigInt64Array;
      for (let i = 0; i < chunk.length; i++) if (chunk.getValid(i)) s += v[i]!;
    }
    return s;
  };
  const decimals = values<Uint32Array | null>('amount').reduce<bigint>(
    (s, w) =>
      s +
      (w
        ? BigInt.asIntN(
            128,
            [...w].reduceRight((acc, x) => (acc << 32n) | BigInt(x), 0n),
          )
        : 0n),
    0n,
  );
  const [expected] = await src.admin<Record<string, string>>(
    `SELECT sum(id)::text AS id, sum(qty)::text AS qty, sum(big)::text AS big, (sum(amount) * 100)::numeric(30,0)::text AS amount,
            sum(ratio) AS ratio, count(*) FILTER (WHERE flag)::text AS flags, count(flag)::text AS flag_n,
            sum(char_length(label))::text AS label_chars, count(label)::text AS labels,
            sum(day - date '1970-01-01')::text AS days,
            sum(extract(epoch FROM at) * 1000000)::numeric(40,0)::text AS at,
            sum(extract(epoch FROM atz) * 1000000)::numeric(40,0)::text AS atz,
            count(doc)::text AS docs
       FROM public.${src.name} WHERE tenant_id = 'acme'`,
  );
  const { ratio: expectedRatio, ...exact } = expected!;
  const flags = values<boolean | null>('flag');
  const labels = values<string | null>('label').filter((l): l is string => l !== null);
  expect({
    id: String(values<number>('id').reduce((s, x) => s + x, 0)),
    qty: String(values<number>('qty').reduce((s, x) => s + (x ?? 0), 0)),
    big: String(sumBig(values<bigint | null>('big'))),
    amount: String(decimals),
    flags: String(flags.filter((f) => f === true).length),
    flag_n: String(flags.filter((f) => f !== null).length),
    label_chars: String(labels.reduce((s, l) => s + [...l].length, 0)),
    labels: String(labels.length),
    days: String(values<number>('day').reduce((s, ms) => s + ms / 86_400_000, 0)),
    at: String(micros('at')),
    atz: String(micros('atz')),
    docs: String(values<string | null>('doc').filter((d) => d !== null).length),
  }).toEqual(exact);
  const ratio = values<number | null>('ratio').reduce<number>((s, x) => s + (x ?? 0), 0);
  expect(ratio).toBeCloseTo(Number(expectedRatio), 3);
  expect(JSON.parse(values<string>('doc')[0]!)).toEqual({ g: 1, tags: ['a', 1], ok: false });
  expect(Object.fromEntries(t.schema.fields.map((f) => [f.name, String(f.type)]))).toMatchObject({
    qty: 'Int16',
    big: 'Int64',
    ratio: 'Float64',
    code: 'Utf8',
    doc: 'Utf8',
  });
});
