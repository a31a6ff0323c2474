/**
 * The async-job worker shape: `spectra worker` (workers only, any number of processes beside the
 * API processes) and the worker `spectra serve` runs in-process unless `--no-worker`. Without
 * --warehouse-url/--state-url it attaches to the embedded PostgreSQL that `spectra serve` started
 * in the same SPECTRA_HOME.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../observability/logger.js';
import { CONTROL_DB, WAREHOUSE_DB } from '../warehouse/embedded/bootstrap.js';
import { type ClaimableKind, JobWorker, type JobWorkerOptions, RetentionSweeper } from '../worker/index.js';
import { claimableBulkKind } from '../worker/kinds/bulk.js';
import { openPorts, type Ports } from './ports.js';

/** What a job worker runs on: the ports, no planner, services or authenticators (the server's core has them too). */
export type WorkerCore = Pick<
  Ports,
  'config' | 'log' | 'state' | 'warehouse' | 'results' | 'metrics' | 'onClose'
>;

export interface RunningJobWorker {
  worker: JobWorker;
  sweeper: RetentionSweeper;
  /** Stops claiming, lets running jobs finish for the shutdown grace period, re-queues the rest. */
  stop(): Promise<void>;
}

export function jobWorkerOptions(core: WorkerCore): JobWorkerOptions {
  const { config } = core;
  const overrides = config.tenantMaxRunningJobsOverrides;
  return {
    state: core.state,
    warehouse: core.warehouse,
    results: core.results,
    log: core.log.child({ component: 'worker' }),
    concurrency: config.workerConcurrency,
    tenantCap: (tenantId) => overrides[tenantId] ?? config.tenantMaxRunningJobs,
    leaseMs: config.jobLeaseSeconds * 1000,
    maxAttempts: config.jobMaxAttempts,
    pollIntervalMs: config.workerPollIntervalMs,
    retryBaseMs: config.jobRetryBaseMs,
    resultTtlMs: config.resultTtlHours * 3_600_000,
    parquetRowGroupRows: config.bulkParquetRowGroupRows,
    metrics: core.metrics ?? undefined,
    kinds: bulkKinds(core),
  };
}

/** Bulk jobs run in the same worker when the state store keeps them. */
function bulkKinds(core: WorkerCore): ClaimableKind[] {
  const { config } = core;
  const kind = claimableBulkKind({
    state: core.state,
    warehouse: core.warehouse,
    results: core.results,
    log: core.log.child({ component: 'worker' }),
    leaseMs: config.jobLeaseSeconds * 1000,
    maxAttempts: config.jobMaxAttempts,
    retryBaseMs: config.jobRetryBaseMs,
    metrics: core.metrics ?? undefined,
    settings: {
      gzipLevel: config.bulkGzipLevel,
      parquetRowGroupRows: config.bulkParquetRowGroupRows,
      maxFileBytes: config.bulkMaxFileSizeMb * 1024 * 1024,
    },
  });
  return kind ? [kind] : [];
}

/** The retention sweeper of `core`'s stores. */
export function retentionSweeper(core: WorkerCore): RetentionSweeper {
  return new RetentionSweeper({
    state: core.state,
    results: core.results,
    log: core.log.child({ component: 'retention' }),
    intervalMs: core.config.retentionSweepIntervalSeconds * 1000,
  });
}

/** Starts a worker (and the retention sweeper) on `core`; it stops before the core closes. */
export async function startJobWorker(
  core: WorkerCore,
  overrides: Partial<JobWorkerOptions> = {},
): Promise<RunningJobWorker> {
  const worker = new JobWorker({ ...jobWorkerOptions(core), ...overrides });
  const sweeper = retentionSweeper(core);
  await worker.start();
  sweeper.start();
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await sweeper.stop();
      await worker.stop(core.config.shutdownGraceSeconds * 1000);
    })();
    return stopping;
  };
  core.onClose(stop);
  return { worker, sweeper, stop };
}

/** Connection URLs of the embedded PostgreSQL a `spectra serve` runs in `home`. */
async function embeddedUrls(home: string): Promise<{ warehouseUrl: string; stateUrl: string }> {
  let roles: {
    authenticator: { user: string; password: string };
    stateUser: { user: string; password: string };
  };
  let port: number;
  try {
    roles = JSON.parse(await readFile(path.join(home, 'pg', 'roles.json'), 'utf8'));
    port = Number((await readFile(path.join(home, 'pg', 'port'), 'utf8')).trim());
  } catch {
    throw new Error(
      `no embedded PostgreSQL in ${home}: start \`spectra serve\` there first, or pass --warehouse-url and --state-url`,
    );
  }
  const url = (u: { user: string; password: string }, db: string) =>
    `postgres://${encodeURIComponent(u.user)}:${encodeURIComponent(u.password)}@127.0.0.1:${port}/${db}`;
  return { warehouseUrl: url(roles.authenticator, WAREHOUSE_DB), stateUrl: url(roles.stateUser, CONTROL_DB) };
}

export interface RunningWorkerProcess extends RunningJobWorker {
  core: Ports;
  close(): Promise<void>;
}

/** `spectra worker`: the ports and a job worker. */
export async function startWorkerProcess(config: Config, log: Logger): Promise<RunningWorkerProcess> {
  let effective = config;
  if (!config.warehouseUrl || !config.stateUrl) {
    const urls = await embeddedUrls(config.home);
    effective = {
      ...config,
      warehouseUrl: config.warehouseUrl || urls.warehouseUrl,
      stateUrl: config.stateUrl || urls.stateUrl,
    };
  }
  const core = await openPorts(effective, log);
  try {
    const running = await startJobWorker(core);
    return { ...running, core, close: () => core.close() };
  } catch (e) {
    await core.close();
    throw e;
  }
}
