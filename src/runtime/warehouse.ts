/**
 * Opens the configured Warehouse: PostgreSQL (at SPECTRA_WAREHOUSE_URL or the embedded server's
 * connection) or the Redshift Data API (its SDK loaded only then), whose sessions are kept in the
 * StateStore so every process reuses the same ones.
 */
import type { Config } from '../config/index.js';
import type { ServiceMetrics } from '../observability/service-metrics.js';
import type { ResultMemoryBudget } from '../services/result-memory-budget.js';
import type { StateStore } from '../state/port.js';
import type { Warehouse } from '../warehouse/port.js';
import { PostgresWarehouse, type PostgresWarehouseOptions } from '../warehouse/postgres/index.js';
import type { CaptureAwsClient } from './aws/clients.js';

export interface OpenWarehouseOptions {
  /** Where a PostgreSQL warehouse is; default SPECTRA_WAREHOUSE_URL. */
  postgres?: Pick<
    PostgresWarehouseOptions,
    'connectionString' | 'host' | 'port' | 'user' | 'password' | 'database'
  >;
  metrics: ServiceMetrics | null;
  resultMemory: ResultMemoryBudget;
  state: Pick<StateStore, 'sessions'>;
  capture?: CaptureAwsClient;
}

export async function openWarehouse(config: Config, options: OpenWarehouseOptions): Promise<Warehouse> {
  const { metrics } = options;
  if (config.warehouse === 'postgres') {
    return new PostgresWarehouse({
      ...(options.postgres ?? { connectionString: config.warehouseUrl }),
      poolSize: config.warehousePoolSize,
      onConnectWait: metrics ? (ms) => metrics.poolWait.observe(undefined, ms / 1000) : undefined,
      maxRowBytes: config.maxRowBytes,
      resultMemory: options.resultMemory,
    });
  }
  const { buildRedshiftDataWarehouse } = await import('./aws/redshift-data.js');
  return buildRedshiftDataWarehouse(
    config,
    {
      sessions: options.state.sessions,
      onSessionOutcome: metrics ? (outcome) => metrics.warehouseSessions.inc({ outcome }) : undefined,
    },
    options.capture,
  );
}
