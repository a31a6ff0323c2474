/** Parquet export writer: typed columns from warehouse type names, row groups streamed, values read back. */
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { ParquetStreamWriter, parquetTypeOf } from '../../../src/formats/parquet.js';
import type { ColumnInfo, Row } from '../../../src/warehouse/port.js';
import { waitFor } from '../../helpers/time.js';

async function writeAll(columns: ColumnInfo[], batches: Row[][], rowGroupRows = 1000) {
  const w = new ParquetStreamWriter(columns, { rowGroupRows });
  const chunks: Uint8Array[] = [];
  const consumer = (async () => {
    for await (const c of w.bytes) chunks.push(c);
  })();
  for (const b of batches) await w.write(b);
  w.end();
  await consumer;
  return { file: Buffer.concat(chunks), chunks: chunks.length };
}

function readBack(file: Uint8Array): arrow.Table {
  const t = parquet.readParquet(file);
  return arrow.tableFromIPC(t.intoIPCStream());
}

describe('parquet export writer', () => {
  it('maps warehouse type names to Parquet types', () => {
    expect(String(parquetTypeOf('INTEGER'))).toBe('Int32');
    expect(String(parquetTypeOf('BIGINT'))).toBe('Int64');
    expect(parquetTypeOf('DECIMAL(12,2)')).toMatchObject({ precision: 12, scale: 2, bitWidth: 128 });
    expect(String(parquetTypeOf('DECIMAL'))).toBe('Utf8');
    expect(String(parquetTypeOf('TIMESTAMPTZ'))).toBe('Timestamp<MICROSECOND, UTC>');
    expect(String(parquetTypeOf('INTEGER[]'))).toBe('Utf8');
  });

  it('writes typed columns, NULLs included, that read back as the same values', async () => {
    const columns: ColumnInfo[] = [
      { name: 'i2', type: 'SMALLINT' },
      { name: 'i4', type: 'INTEGER' },
      { name: 'i8', type: 'BIGINT' },
      { name: 'dec', type: 'DECIMAL(12,2)' },
      { name: 'big', type: 'DECIMAL(38,4)' },
      { name: 'f4', type: 'REAL' },
      { name: 'f8', type: 'DOUBLE PRECISION' },
      { name: 'b', type: 'BOOLEAN' },
      { name: 's', type: 'VARCHAR' },
      { name: 'd', type: 'DATE' },
      { name: 'ts', type: 'TIMESTAMP' },
      { name: 'tz', type: 'TIMESTAMPTZ' },
      { name: 'j', type: 'SUPER' },
      { name: 'bin', type: 'VARBYTE' },
    ];
    const rows: Row[] = [
      [
        1,
        2,
        3,
        '1.50',
        '123456789012345678901234.5678',
        1.5,
        0.1,
        true,
        'héllo',
        '2024-01-02',
        '2024-01-02T03:04:05.123456',
        '2024-01-02T03:04:05Z',
        { a: [1, 'x'] },
        'AP8Q',
      ],
      [
        -1,
        -2,
        '9007199254740993',
        '-1.05',
        '-0.0001',
        -0,
        -1e300,
        false,
        '',
        '-0043-03-15',
        '0099-12-31T23:59:59',
        '1970-01-01T00:00:00.5Z',
        'str',
        '',
      ],
      [null, null, null, null, null, null, null, null, null, null, null, null, null, null],
    ];
    const { file } = await writeAll(columns, [rows]);
    const t = readBack(file);
    const col = (name: string) => t.getChild(name)!.toArray();
    expect([...col('i2')].slice(0, 2)).toEqual([1, -1]);
    expect(t.getChild('i8')!.get(1)).toBe(9007199254740993n);
    expect(t.getChild('dec')!.get(2)).toBeNull();
    expect(t.getChild('s')!.get(0)).toBe('héllo');
    expect(t.getChild('s')!.get(1)).toBe('');
    expect(t.getChild('s')!.get(2)).toBeNull();
    expect(t.getChild('b')!.get(0)).toBe(true);
    expect(t.getChild('b')!.get(1)).toBe(false);
    expect(t.getChild('j')!.get(0)).toBe('{"a":[1,"x"]}');
    expect(t.getChild('j')!.get(1)).toBe('"str"');
    // Decimals: the unscaled 128-bit integer, little-endian words.
    const decWords = (name: string, row: number) => {
      const v = t.getChild(name)!.get(row) as Uint32Array;
      return BigInt.asIntN(
        128,
        [...v].reduceRight((acc, w) => (acc << 32n) | BigInt(w), 0n),
      );
    };
    expect(decWords('dec', 0)).toBe(150n);
    expect(decWords('dec', 1)).toBe(-105n);
    expect(decWords('big', 0)).toBe(1234567890123456789012345678n);
    expect(decWords('big', 1)).toBe(-1n);
    // Dates are days since the epoch (proleptic Gregorian); timestamps microseconds.
    expect(t.getChild('d')!.get(0)).toBe(Date.UTC(2024, 0, 2));
    const bc = new Date(0);
    bc.setUTCFullYear(-43, 2, 15);
    expect(t.getChild('d')!.get(1)).toBe(bc.getTime());
    const micros = (name: string, row: number) => (t.getChild(name)!.data[0]!.values as BigInt64Array)[row];
    expect(t.getChild('ts')!.type.toString()).toBe('Timestamp<MICROSECOND>');
    expect(micros('ts', 0)).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n + 123456n);
    expect(micros('tz', 1)).toBe(500000n);
    expect(Buffer.from(t.getChild('bin')!.get(0) as Uint8Array).toString('base64')).toBe('AP8Q');
  });

  it('emits row groups while rows arrive (bytes before the last batch), and a valid file without rows', async () => {
    const columns: ColumnInfo[] = [{ name: 'n', type: 'INTEGER' }];
    const batches = Array.from({ length: 10 }, (_, b) =>
      Array.from({ length: 1000 }, (_, i) => [b * 1000 + i]),
    );
    const w = new ParquetStreamWriter(columns, { rowGroupRows: 1000 });
    let received = 0;
    const consumer = (async () => {
      for await (const c of w.bytes) received += c.length;
    })();
    for (const b of batches.slice(0, 5)) await w.write(b);
    // Before end(): bytes of the written row groups reach the consumer.
    await waitFor(() => received > 0);
    for (const b of batches.slice(5)) await w.write(b);
    w.end();
    await consumer;
    const empty = await writeAll(columns, []);
    expect(readBack(empty.file).numRows).toBe(0);
  });

  it('refuses a value the Parquet type cannot hold, naming the column', async () => {
    const w = new ParquetStreamWriter([{ name: 'amount', type: 'DECIMAL(12,2)' }], { rowGroupRows: 1000 });
    const consumer = (async () => {
      for await (const _ of w.bytes);
    })();
    await expect(w.write([['NaN']])).rejects.toThrow(/column "amount"/);
    w.abort();
    await consumer;
  });
});
