/**
 * Every port contract against its PostgreSQL adapter, on the run's embedded PostgreSQL: the
 * StateStore (records, job queues of every kind, bulk stores, operability stores) on control
 * databases of its own, as the state role; the Warehouse as the authenticator.
 */
import net from 'node:net';
import type pg from 'pg';
import { PostgresStateStore } from '../../../src/state/postgres/index.js';
import { PostgresWarehouse } from '../../../src/warehouse/postgres/index.js';
import { WAREHOUSE_ROLES } from '../../../src/warehouse/postgres/tenant-role-sql.js';
import { bulkStateContract } from '../../contracts/bulk-state-contract.js';
import { jobQueueContracts } from '../../contracts/job-kinds.js';
import { operabilityStoresContract } from '../../contracts/operability-contract.js';
import { type StateUnderTest, stateContract } from '../../contracts/state-contract.js';
import { warehouseContract } from '../../contracts/warehouse-contract.js';
import { createControlDb } from '../../helpers/control-db.js';
import { adminClient, pgFacts } from '../../helpers/pg-fixture.js';
import { waitFor } from '../../helpers/time.js';

/** A migrated PostgresStateStore on a control database of its own, dropped on close. */
async function openState(opts: { poolSize?: number; now?: () => number } = {}): Promise<StateUnderTest> {
  const control = await createControlDb('contract');
  const store = new PostgresStateStore({
    connectionString: control.url,
    poolSize: opts.poolSize ?? 10,
    now: opts.now,
  });
  await store.migrate();
  return {
    store,
    close: async () => {
      await store.close();
      await control.drop();
    },
  };
}

stateContract('PostgreSQL', () => openState());
// 20 concurrent claimers each hold a connection.
jobQueueContracts('PostgresStateStore', () => openState({ poolSize: 30 }));
bulkStateContract('PostgresStateStore', () => openState());
operabilityStoresContract('PostgreSQL', (now) => openState({ now }));

/** `pg:<pid>:<application_name>`, as the adapter's statement refs are built. */
function parseRef(ref: string): { pid: number; label: string } {
  const m = /^pg:(\d+):(.+)$/.exec(ref);
  if (!m) throw new Error(`not a PostgreSQL statement ref: ${ref}`);
  return { pid: Number(m[1]), label: m[2]! };
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const client = await adminClient(database);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

warehouseContract(
  'PostgreSQL',
  async ({ poolSize }) => {
    const f = pgFacts();
    const connection = {
      host: f.host,
      port: f.port,
      user: f.authenticator.user,
      password: f.authenticator.password,
      database: f.warehouseDb,
    };
    const warehouse = new PostgresWarehouse({ ...connection, poolSize });
    return {
      warehouse,
      tenants: f.tenants,
      isRunning: async (ref) => {
        const { pid, label } = parseRef(ref);
        return withAdmin(async (c) => {
          const { rows } = await c.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND application_name = $2 AND state = 'active'`,
            [pid, label],
          );
          return rows[0].n > 0;
        });
      },
      killSession: async (ref) => {
        const { pid, label } = parseRef(ref);
        await withAdmin(async (c) => {
          // Wait until the statement itself is executing, then end its backend.
          await waitFor(async () => {
            const { rows } = await c.query(
              `SELECT state FROM pg_stat_activity WHERE pid = $1 AND application_name = $2`,
              [pid, label],
            );
            return rows[0]?.state === 'active';
          });
          const { rows } = await c.query('SELECT pg_terminate_backend($1) AS ok', [pid]);
          if (rows[0].ok !== true) throw new Error(`could not terminate backend ${pid}`);
        });
      },
      unreachable: async () =>
        new PostgresWarehouse({ ...connection, port: await freePort(), poolSize: 1, connectTimeoutMs: 1000 }),
      catalog: {
        admin: async (sql) => {
          await withAdmin((c) => c.query(sql), f.warehouseDb);
        },
        tenantsGroup: WAREHOUSE_ROLES.tenants,
        loginUser: f.authenticator.user,
      },
      close: () => warehouse.close(),
    };
  },
  { unreachable: true, killSession: true, relationColumns: true },
);
