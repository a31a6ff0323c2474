/**
 * The Bulk API's stores of the PostgreSQL StateStore against the real PostgreSQL (a control
 * database of its own): the port-level contract in test/contracts/bulk-state-contract.ts.
 */
import { PostgresStateStore } from '../../../src/state/postgres/index.js';
import { bulkStateContract } from '../../contracts/bulk-state-contract.js';
import { createControlDb } from '../jobs/control-db.js';

bulkStateContract('PostgresStateStore', async () => {
  const control = await createControlDb('bulk_state');
  const store = new PostgresStateStore({ connectionString: control.url, poolSize: 10 });
  await store.migrate();
  return {
    store,
    close: async () => {
      await store.close();
      await control.drop();
    },
  };
});
