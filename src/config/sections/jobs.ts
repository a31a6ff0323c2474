/**
 * Async query jobs: workers, per-tenant running caps, leases and retries, timeouts, retention of
 * records and result files. A default timeout over the maximum is lowered to it.
 */
import * as z from 'zod/mini';
import { bool, type ConfigOf, int, list, type Setting } from '../setting.js';

export const JOBS_SETTINGS = {
  worker: {
    env: 'SPECTRA_WORKER',
    flag: 'worker',
    cli: { help: 'serve the API only; async jobs wait for `spectra worker` processes' },
    schema: bool,
    default: true,
    doc: '`spectra serve` also runs an async-job worker in the same process (`--no-worker` for API-only processes; run `spectra worker` beside them).',
  },
  workerConcurrency: {
    env: 'SPECTRA_WORKER_CONCURRENCY',
    flag: 'worker-concurrency',
    cli: { arg: 'N', help: 'async jobs this process runs at once' },
    schema: int(1, 256),
    default: 4,
    doc: 'Async jobs one worker process runs at once (the global per-process cap).',
  },
  workerPollIntervalMs: {
    env: 'SPECTRA_WORKER_POLL_INTERVAL_MS',
    schema: int(10),
    default: 1000,
    doc: 'Workers are woken by LISTEN/NOTIFY; this is the fallback scan period of the job queue.',
  },
  tenantMaxRunningJobs: {
    env: 'SPECTRA_TENANT_MAX_RUNNING_JOBS',
    schema: int(1),
    default: 5,
    doc: 'RUNNING async jobs per tenant across all workers; the rest wait QUEUED.',
  },
  tenantMaxRunningJobsOverrides: {
    env: 'SPECTRA_TENANT_MAX_RUNNING_JOBS_OVERRIDES',
    schema: z.pipe(
      list,
      z.transform((items: string[], ctx) => {
        const out: Record<string, number> = {};
        for (const item of items) {
          const m = /^([a-z][a-z0-9-]{0,62})=(\d{1,6})$/.exec(item);
          if (!m || Number(m[2]) < 1) {
            ctx.issues.push({
              code: 'custom',
              message: `expected tenant=count (count ≥ 1), got "${item}"`,
              input: items,
            });
            return z.NEVER;
          }
          out[m[1]!] = Number(m[2]);
        }
        return out;
      }),
    ),
    default: [],
    doc: 'Per-tenant exceptions to SPECTRA_TENANT_MAX_RUNNING_JOBS, comma-separated `tenant=count` (e.g. `acme=10,globex=2`).',
  },
  jobLeaseSeconds: {
    env: 'SPECTRA_JOB_LEASE_SECONDS',
    schema: int(1, 3600),
    default: 30,
    doc: 'A RUNNING job’s lease; its worker renews it (at least every second). A job whose lease expires (its worker died) is re-queued.',
  },
  jobMaxAttempts: {
    env: 'SPECTRA_JOB_MAX_ATTEMPTS',
    schema: int(1, 100),
    default: 3,
    doc: 'Times a job may be started (lost workers and transient warehouse errors count) before it is FAILED.',
  },
  jobRetryBaseMs: {
    env: 'SPECTRA_JOB_RETRY_BASE_MS',
    schema: int(0),
    default: 1000,
    doc: 'Backoff before retrying a job after a transient warehouse error; doubles with each attempt (±20% jitter, max 60 s).',
  },
  jobDefaultTimeoutSeconds: {
    env: 'SPECTRA_JOB_DEFAULT_TIMEOUT_SECONDS',
    schema: int(1),
    default: 900,
    doc: 'Statement timeout of an async job whose request gives no `timeout_seconds`.',
  },
  jobMaxTimeoutSeconds: {
    env: 'SPECTRA_JOB_MAX_TIMEOUT_SECONDS',
    schema: int(1),
    default: 3600,
    doc: 'Largest `timeout_seconds` an async job may ask for.',
  },
  jobTtlDays: {
    env: 'SPECTRA_JOB_TTL_DAYS',
    schema: int(1),
    default: 7,
    doc: 'Days a job record (sync or async) is kept; expired jobs are hidden at once and deleted by the sweeper.',
  },
  resultTtlHours: {
    env: 'SPECTRA_RESULT_TTL_HOURS',
    schema: int(1),
    default: 24,
    doc: 'Hours an async job’s result files are kept after it completes.',
  },
  retentionSweepIntervalSeconds: {
    env: 'SPECTRA_RETENTION_SWEEP_INTERVAL_SECONDS',
    schema: int(1),
    default: 600,
    doc: 'How often workers delete expired jobs, result files and idempotency records.',
  },
  resultSizeThreshold: {
    env: 'SPECTRA_RESULT_SIZE_THRESHOLD',
    schema: int(1),
    default: 10_000,
    doc: '`GET /v1/jobs/{id}/results` without `cursor`/`limit` answers results with more rows than this with a download URL instead of a page.',
  },
} satisfies Record<string, Setting>;

export type JobsConfig = ConfigOf<typeof JOBS_SETTINGS>;

export function finishJobs(config: JobsConfig): string[] {
  config.jobDefaultTimeoutSeconds = Math.min(config.jobDefaultTimeoutSeconds, config.jobMaxTimeoutSeconds);
  return [];
}
