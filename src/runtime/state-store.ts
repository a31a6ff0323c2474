/**
 * Opens the configured StateStore: DynamoDB (its SDK loaded only then), or PostgreSQL — at
 * SPECTRA_STATE_URL, or at the connection the embedded PostgreSQL gave `buildCore` — migrated first.
 * Used alone by what needs no warehouse (the authorizer function, `spectra admin-key`).
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../observability/logger.js';
import type { StateStore } from '../state/port.js';
import { type PostgresStateOptions, PostgresStateStore } from '../state/postgres/index.js';
import type { CaptureAwsClient } from './aws/clients.js';

export interface OpenStateStoreOptions {
  /** Where PostgreSQL state lives; default SPECTRA_STATE_URL with a pool of 2 (a command's needs). */
  postgres?: Omit<PostgresStateOptions, 'onJobRecordTrouble'>;
  /** Warnings about sync query records written in a fallback form. */
  log?: Logger;
  capture?: CaptureAwsClient;
}

export async function openStateStore(
  config: Config,
  options: OpenStateStoreOptions = {},
): Promise<StateStore> {
  if (config.state === 'dynamodb')
    return (await import('./aws/dynamodb.js')).buildDynamoStateStore(config, options.capture);
  const { log } = options;
  const store = new PostgresStateStore({
    ...(options.postgres ?? { connectionString: config.stateUrl, poolSize: 2 }),
    onJobRecordTrouble: log
      ? (t) =>
          log.warn(
            {
              job_id: t.jobId,
              tenant_id: t.tenantId,
              fallback: t.fallback,
              err: t.error instanceof Error ? t.error.message : String(t.error),
            },
            'a sync query record could not be written as it was',
          )
      : undefined,
  });
  try {
    await store.migrate();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
