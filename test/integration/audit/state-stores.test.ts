/** The operability stores of the PostgreSQL StateStore against the run's real PostgreSQL (operability-contract.ts). */
import { PostgresStateStore } from '../../../src/state/postgres/index.js';
import { pgFacts } from '../../helpers/pg-fixture.js';
import { operabilityStoresContract } from '../../contracts/operability-contract.js';

operabilityStoresContract('PostgreSQL', async (now) => {
  const f = pgFacts();
  const store = new PostgresStateStore({
    host: f.host,
    port: f.port,
    user: f.stateUser.user,
    password: f.stateUser.password,
    database: f.controlDb,
    poolSize: 8,
    now,
  });
  await store.migrate();
  return { store, close: () => store.close() };
});
