/**
 * The job queue, retention and idempotency records of the PostgreSQL StateStore against the real
 * PostgreSQL (a control database of its own): the port-level contract in job-queue-contract.ts.
 */
import { PostgresStateStore } from '../../../src/state/postgres/index.js';
import { createControlDb } from './control-db.js';
import { jobQueueContract } from '../../contracts/job-queue-contract.js';

jobQueueContract('PostgresStateStore', async () => {
  const control = await createControlDb('queue');
  const store = new PostgresStateStore({ connectionString: control.url, poolSize: 30 });
  await store.migrate();
  return {
    store,
    close: async () => {
      await store.close();
      await control.drop();
    },
  };
});
