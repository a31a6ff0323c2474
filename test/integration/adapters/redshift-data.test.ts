/**
 * The Warehouse contract against the Redshift Data API adapter, through the real AWS SDK and the
 * Data API fake on the run's embedded PostgreSQL (sessions on: the contract's concurrency and
 * failure cases run across reused and fresh sessions).
 */

import { RedshiftDataWarehouse } from '../../../src/warehouse/redshift-data/index.js';
import { warehouseContract } from '../../contracts/warehouse-contract.js';
import { pgFacts } from '../../helpers/pg-fixture.js';
import {
  dataApiWarehouse,
  FAKE_CLUSTER,
  freePort,
  startRedshiftDataFake,
  testDataApiClient,
} from '../../helpers/redshift-data.js';

const RUNNING = new Set(['SUBMITTED', 'PICKED', 'STARTED']);

warehouseContract(
  'Redshift Data API (fake)',
  async ({ poolSize }) => {
    const fake = await startRedshiftDataFake({ pageRows: 2000, chunkRows: 500 });
    const warehouse = dataApiWarehouse(fake, { maxSessionsPerUser: poolSize });
    return {
      warehouse,
      tenants: pgFacts().tenants,
      // The Data API reports a failed statement's message only; the adapter derives the SQLSTATE
      // of common failures (division by zero: 22012) from its wording (errors.ts).
      isRunning: async (ref) => {
        const id = ref.replace(/^rsd:/, '').split('@')[0]!;
        return RUNNING.has(fake.statementsRun().find((s) => s.id === id)?.status ?? '');
      },
      unreachable: async () =>
        new RedshiftDataWarehouse({
          client: testDataApiClient(`http://127.0.0.1:${await freePort()}`),
          target: { clusterIdentifier: FAKE_CLUSTER },
          database: pgFacts().warehouseDb,
          auth: { kind: 'db-user' },
          sessionKeepAliveSeconds: 60,
        }),
      close: async () => {
        await warehouse.close();
        await fake.stop();
      },
    };
  },
  { unreachable: true, killSession: false, relationColumns: false },
);
