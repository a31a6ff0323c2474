/** The StateStore contract against the PostgreSQL adapter, on the run's control database as the state role. */
import { PostgresStateStore } from '../../../src/state/postgres/index.js';
import { stateContract } from '../../contracts/state-contract.js';
import { pgFacts } from '../../helpers/pg-fixture.js';

stateContract('PostgreSQL', async () => {
  const f = pgFacts();
  const store = new PostgresStateStore({
    host: f.host,
    port: f.port,
    user: f.stateUser.user,
    password: f.stateUser.password,
    database: f.controlDb,
    poolSize: 8,
  });
  await store.migrate();
  return { store, close: () => store.close() };
});
