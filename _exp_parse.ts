import { parse } from 'csv-parse';
import { Readable } from 'node:stream';
const N = 1_000_000;
let s = 'customer_id,name,email,region,created_at\n';
const parts: string[] = [];
for (let i = 0; i < N; i++) parts.push(`${i},"Name ${i}",user${i}@example.com,EMEA,2024-01-02 03:04:05+00\n`);
const text = s + parts.join('');
const buf = Buffer.from(text);
console.log('MB', buf.length / 1e6);
for (const opts of [{}, { cast: (v: string, ctx: { quoting: boolean }) => (v === '' && !ctx.quoting ? null : v) }]) {
  const t0 = performance.now();
  let rows = 0;
  const p = Readable.from([buf.subarray(0, buf.length / 2), buf.subarray(buf.length / 2)]).pipe(parse({ ...opts, relax_column_count: true, info: false } as never));
  for await (const r of p) rows++;
  const ms = performance.now() - t0;
  console.log(rows, Math.round(ms), Math.round(rows / ms * 1000), 'rows/s');
}
