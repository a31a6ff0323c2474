/**
 * Baseline for the small-query benchmark: the least a service could do — a bare node:http handler
 * that runs the same SQL with the same `SET LOCAL ROLE` in one round trip (as the service does), on
 * a pool of the same size, with no auth, validation, job record or envelope. Env: PGHOST, PGPORT,
 * PGUSER, PGPASSWORD, PGDATABASE, BASELINE_DB_USER, BASELINE_POOL_SIZE. Prints "listening on http://…".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

const dbUser = process.env.BASELINE_DB_USER ?? 'tenant_acme';
const pool = new pg.Pool({ max: Number(process.env.BASELINE_POOL_SIZE ?? 20) });
const begin = `BEGIN; SET LOCAL ROLE "${dbUser}"; SET LOCAL statement_timeout = 60000; `;

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const { sql } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sql: string };
      // One simple-protocol string: BEGIN, the role, the statement and COMMIT in one round trip.
      const results = (await pool.query({
        text: `${begin}${sql}; COMMIT`,
        rowMode: 'array',
      })) as unknown as pg.QueryResult[];
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ data: results[3]!.rows }));
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
