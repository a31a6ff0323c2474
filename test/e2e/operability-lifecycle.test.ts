/**
 * Issue 9 acceptance, lifecycle: `/ready` fails while the warehouse or the state store is
 * unreachable and during shutdown, and recovers; graceful shutdown cancels in-flight statements in
 * the warehouse within its deadline instead of leaving them running.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { adminClient, pgFacts } from '../helpers/pg-fixture.js';
import { json, pgUrl, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { waitFor } from '../helpers/time.js';

/** A TCP proxy to the test PostgreSQL that can be cut and restored on the same port. */
class CuttableProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  async start(): Promise<void> {
    const f = pgFacts();
    this.server = net.createServer((client) => {
      const upstream = net.connect(f.port, f.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
  }
}

const ready = async (s: TestSpectra) => {
  const res = await s.request('/ready');
  return { status: res.status, body: await json(res) };
};

describe('readiness', () => {
  const proxies: CuttableProxy[] = [];
  let spectra: TestSpectra | undefined;
  afterAll(async () => {
    await spectra?.close();
    for (const p of proxies) await p.cut();
  });

  it('fails while the warehouse or the state store is unreachable, and recovers', async () => {
    const f = pgFacts();
    const warehouseProxy = new CuttableProxy();
    const stateProxy = new CuttableProxy();
    proxies.push(warehouseProxy, stateProxy);
    await warehouseProxy.start();
    await stateProxy.start();
    const via = (url: string, port: number) => url.replace(`:${f.port}/`, `:${port}/`);
    spectra = await startSpectra({
      SPECTRA_WAREHOUSE_URL: via(
        pgUrl(f.authenticator.user, f.authenticator.password, f.warehouseDb),
        warehouseProxy.port,
      ),
      SPECTRA_STATE_URL: via(pgUrl(f.stateUser.user, f.stateUser.password, f.controlDb), stateProxy.port),
    });
    expect((await ready(spectra)).status).toBe(200);

    await warehouseProxy.cut();
    const down = await ready(spectra);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.checks.state).toBe('ok');
    expect(down.body.checks.warehouse).not.toBe('ok');
    const query = await spectra.query('acme', { sql: 'SELECT 1 AS one' });
    expect(query.status).toBe(503);
    expect(query.headers.get('retry-after')).not.toBeNull();

    await warehouseProxy.start();
    expect((await ready(spectra)).status).toBe(200);

    await stateProxy.cut();
    const stateDown = await ready(spectra);
    expect(stateDown.status).toBe(503);
    expect(stateDown.body.checks.state).not.toBe('ok');
    await stateProxy.start();
    expect((await ready(spectra)).status).toBe(200);
  });
});

describe('graceful shutdown', () => {
  it('answers /ready with 503 as soon as shutdown starts, while still serving', async () => {
    const spectra = await startSpectra({ SPECTRA_SHUTDOWN_DELAY_SECONDS: '1' });
    expect((await ready(spectra)).status).toBe(200);
    const closing = spectra.close();
    const during = await ready(spectra);
    expect(during.status).toBe(503);
    expect(during.body.checks.server).toBe('shutting down');
    expect((await spectra.query('acme', { sql: 'SELECT 1 AS one' })).status).toBe(200);
    await closing;
  });

  it('cancels statements still running after the grace period: the connection closes, the statement stops', async () => {
    const spectra = await startSpectra({ SPECTRA_SHUTDOWN_GRACE_SECONDS: '1' });
    const marker = `shutdown_${Date.now().toString(36)}`;
    const slow = spectra
      .query('acme', {
        sql: `SELECT count(*) AS ${marker} FROM sales a CROSS JOIN sales b`,
        timeout_seconds: 60,
      })
      .then(
        (r) => r.status,
        () => 'connection closed',
      );
    const admin = await adminClient();
    const running = async () =>
      Number(
        (
          await admin.query(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`,
            [marker],
          )
        ).rows[0].n,
      );
    try {
      await waitFor(async () => (await running()) === 1, { what: 'the statement to run' });
      const t0 = performance.now();
      await spectra.close();
      // At least the grace period (a lower bound holds on any machine); cancelled, not waited out (60 s).
      expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
      expect(await slow).toBe('connection closed');
      expect(await running()).toBe(0);
    } finally {
      await admin.end();
    }
  });
});
