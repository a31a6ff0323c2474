import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip, constants } from 'node:zlib';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { PostgresWarehouse } from './src/warehouse/postgres/index.js';
import { createCsvEncoder } from './src/formats/csv.js';

const home = '/tmp/exp/home';
const roles = JSON.parse(readFileSync(`${home}/pg/roles.json`, 'utf8'));
const port = Number(readFileSync(`${home}/pg/port`, 'utf8'));
const conn = { host: '127.0.0.1', port, user: roles.authenticator.user, password: roles.authenticator.password, database: 'spectra_warehouse' };
const N = Number(process.argv[2] ?? 2_000_000);
const LEVEL = Number(process.env.LEVEL ?? 6);
const SQL = `SELECT s.* FROM sales s CROSS JOIN generate_series(1, 20) g LIMIT ${N}`;
const mode = process.argv[3] ?? 'raw';
const t0 = performance.now();
if (mode === 'raw') {
  const c = new pg.Client(conn); await c.connect();
  await c.query('BEGIN; SET LOCAL ROLE tenant_acme');
  const src = c.query(copyTo(`COPY (${SQL}) TO STDOUT WITH (FORMAT csv, HEADER)`));
  await pipeline(src, createGzip({ level: LEVEL }), createWriteStream('/tmp/exp/raw.csv.gz'));
  await c.query('COMMIT'); await c.end();
} else {
  const wh = new PostgresWarehouse({ ...conn, poolSize: 2 });
  const gz = createGzip({ level: LEVEL });
  const out = createWriteStream('/tmp/exp/ours.csv.gz');
  const done = pipeline(gz, out);
  const enc = createCsvEncoder({ lineEnding: 'LF' });
  const write = (s: string) => (gz.write(s) ? undefined : new Promise<void>((r) => gz.once('drain', () => r())));
  await wh.execute({ tenantId: 'acme', dbUser: 'tenant_acme', timeoutMs: 600000 }, { sql: SQL, params: [] }, {
    columns: (cols) => write(enc.begin(cols)),
    rows: (b) => write(enc.encode(b)),
  });
  gz.end(); await done; await wh.close();
}
const ms = performance.now() - t0;
console.log(mode, LEVEL, { rows: N, ms: Math.round(ms), rowsPerSec: Math.round(N / ms * 1000), rssMB: Math.round(process.memoryUsage().rss / 1e6) });
