/**
 * Redshift Data API result decoding (issue 7): the same rows as CSV pages (GetStatementResultV2)
 * and as typed JSON pages (GetStatementResult), each read through the real SDK client and the
 * adapter's decoders into JSON-ready rows, in the same run. The HTTP layer is a stub answering with
 * pre-built response bodies, so the figures are deserialisation + decoding only (no network, no
 * warehouse). The original project claimed ~70% savings for CSV without measuring it.
 * Value = µs per row (lower is better); baseline = typed JSON; ratio = CSV / JSON.
 */
import { Readable } from 'node:stream';
import { createRedshiftDataClient, RedshiftDataWarehouse } from '../src/warehouse/redshift-data/index.js';
import { type BenchResult, median, result } from './lib.js';

const PAGE_ROWS = 5000;
const CHUNK_ROWS = 1000;
const SIZES = [10_000, 100_000];

const COLUMNS = [
  { name: 'sale_id', typeName: 'int8' },
  { name: 'region', typeName: 'varchar', precision: 16 },
  { name: 'amount', typeName: 'numeric', precision: 12, scale: 2 },
  { name: 'quantity', typeName: 'int4' },
  { name: 'unit_price', typeName: 'float8' },
  { name: 'paid', typeName: 'bool' },
  { name: 'sold_at', typeName: 'timestamptz' },
  { name: 'note', typeName: 'varchar', precision: 64 },
];
const REGIONS = ['EMEA', 'AMER', 'APAC', 'LATAM, "south"'];

type Cell = { long: number } | { double: number } | { bool: boolean } | { text: string } | null;

function row(i: number): Cell[] {
  const day = String(1 + (i % 28)).padStart(2, '0');
  const note =
    i % 10 === 0 ? null : i % 20 === 1 ? { text: '' } : { text: `order ${i} for customer ${i % 977}` };
  return [
    { long: 1_000_000 + i },
    { text: REGIONS[i % REGIONS.length]! },
    { text: `${1 + (i % 99_999)}.${String(i % 100).padStart(2, '0')}` },
    { long: 1 + (i % 50) },
    { double: (i % 1000) / 7 },
    { bool: i % 3 === 0 },
    {
      text: `2024-03-${day} 12:${String(i % 60).padStart(2, '0')}:05.${String(i % 1000).padStart(3, '0')}+00`,
    },
    note,
  ];
}

const csvText = (c: Cell): string => {
  if (c === null) return '';
  const v =
    'long' in c
      ? String(c.long)
      : 'double' in c
        ? String(c.double)
        : 'bool' in c
          ? c.bool
            ? 't'
            : 'f'
          : c.text;
  if (v === '') return '""';
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
};

const typed = (c: Cell) =>
  c === null
    ? { isNull: true }
    : 'long' in c
      ? { longValue: c.long }
      : 'double' in c
        ? { doubleValue: c.double }
        : 'bool' in c
          ? { booleanValue: c.bool }
          : { stringValue: c.text };

/** Response bodies of every result page, as the Data API would send them. */
function pages(rows: number, format: 'CSV' | 'JSON'): Buffer[] {
  const out: Buffer[] = [];
  for (let start = 0, n = 0; start < rows; start += PAGE_ROWS, n++) {
    const end = Math.min(rows, start + PAGE_ROWS);
    const next = end < rows ? { NextToken: `page-${n + 1}` } : {};
    const common = { ColumnMetadata: COLUMNS, TotalNumRows: rows, ...next };
    if (format === 'CSV') {
      const records: { CSVRecords: string }[] = [];
      for (let c = start; c < end; c += CHUNK_ROWS) {
        let text = '';
        for (let i = c; i < Math.min(end, c + CHUNK_ROWS); i++) text += `${row(i).map(csvText).join(',')}\n`;
        records.push({ CSVRecords: text });
      }
      out.push(Buffer.from(JSON.stringify({ ...common, Records: records, ResultFormat: 'CSV' })));
    } else {
      const records = [];
      for (let i = start; i < end; i++) records.push(row(i).map(typed));
      out.push(Buffer.from(JSON.stringify({ ...common, Records: records })));
    }
  }
  return out;
}

const bodyText = (body: Uint8Array | string | undefined) =>
  typeof body === 'string' ? body : body ? new TextDecoder().decode(body) : '{}';

/** The adapter over a stub HTTP handler that serves `bodies` as the statement's result pages. */
function warehouseServing(bodies: Buffer[], format: 'CSV' | 'JSON'): RedshiftDataWarehouse {
  const id = '00000000-0000-0000-0000-000000000001';
  const reply = (body: Buffer | string) => ({
    response: {
      statusCode: 200,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: Readable.from([typeof body === 'string' ? Buffer.from(body) : body]),
    },
  });
  const client = createRedshiftDataClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: {
      handle: async (request: { headers: Record<string, string>; body?: Uint8Array | string }) => {
        const op = (request.headers['x-amz-target'] ?? '').replace('RedshiftData.', '');
        if (op === 'ExecuteStatement') return reply(JSON.stringify({ Id: id }));
        if (op === 'DescribeStatement')
          return reply(
            JSON.stringify({ Id: id, Status: 'FINISHED', HasResultSet: true, ResultFormat: format }),
          );
        const token = JSON.parse(bodyText(request.body)).NextToken as string | undefined;
        return reply(bodies[token ? Number(token.slice('page-'.length)) : 0]!);
      },
    } as never,
  });
  return new RedshiftDataWarehouse({
    client,
    target: { clusterIdentifier: 'bench' },
    database: 'dev',
    auth: { kind: 'db-user' },
    resultFormat: format,
    sessionKeepAliveSeconds: 0,
    polling: { initialMs: 0, maxMs: 0 },
  });
}

async function microsPerRow(w: RedshiftDataWarehouse, rows: number, runs: number): Promise<number> {
  const ctx = { tenantId: 'bench', dbUser: 'bench', timeoutMs: 600_000 };
  const samples: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    let seen = 0;
    const t0 = performance.now();
    await w.execute(
      ctx,
      { sql: 'SELECT 1', params: [] },
      {
        columns: () => {},
        rows: (b) => {
          seen += b.length;
        },
      },
    );
    const ms = performance.now() - t0;
    if (seen !== rows) throw new Error(`decoded ${seen} rows, expected ${rows}`);
    if (r > 0) samples.push((ms * 1000) / rows); // the first run warms the JIT
  }
  return median(samples);
}

export default async function dataApiDecodeBench(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const rows of SIZES) {
    const csvPages = pages(rows, 'CSV');
    const jsonPages = pages(rows, 'JSON');
    const runs = rows >= 100_000 ? 3 : 7;
    const csvWarehouse = warehouseServing(csvPages, 'CSV');
    const jsonWarehouse = warehouseServing(jsonPages, 'JSON');
    // Interleaved, so both formats see the same machine state.
    const json = await microsPerRow(jsonWarehouse, rows, runs);
    const csv = await microsPerRow(csvWarehouse, rows, runs);
    await csvWarehouse.close();
    await jsonWarehouse.close();
    const bytes = (p: Buffer[]) => p.reduce((n, b) => n + b.length, 0) / rows;
    out.push(
      result(`data-api decode ${rows} rows`, 'CSV pages (baseline: typed JSON)', 'µs/row', csv, json, false),
      result(
        `data-api decode ${rows} rows`,
        'response bytes per row, CSV (baseline: JSON)',
        'B/row',
        bytes(csvPages),
        bytes(jsonPages),
        false,
      ),
    );
  }
  return out;
}
