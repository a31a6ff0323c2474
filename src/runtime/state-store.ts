/**
 * The configured StateStore alone, for commands that need no warehouse (e.g. `spectra admin-key`):
 * DynamoDB, or PostgreSQL at SPECTRA_STATE_URL (migrated first, as `buildCore` does).
 */
import type { Config } from '../config/index.js';
import type { StateStore } from '../state/port.js';
import { PostgresStateStore } from '../state/postgres/index.js';

export async function openStateStore(config: Config): Promise<StateStore> {
  if (config.state === 'dynamodb') return (await import('./aws.js')).buildDynamoStateStore(config);
  const store = new PostgresStateStore({ connectionString: config.stateUrl, poolSize: 2 });
  try {
    await store.migrate();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
