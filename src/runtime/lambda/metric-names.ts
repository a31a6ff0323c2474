/**
 * Names of the custom CloudWatch metrics the Lambda functions emit (Embedded Metric Format), shared
 * with the CDK app's dashboard and alarms. Each metric is published twice: under `service` alone
 * (what alarms watch) and under `service` + `tenant` (what the dashboard breaks down).
 */
export const METRICS_NAMESPACE = 'RedshiftSpectra';

export const SERVICE_NAMES = {
  api: 'spectra-api',
  authorizer: 'spectra-authorizer',
  worker: 'spectra-worker',
} as const;

export const METRIC = {
  /** API: one per request, with the status class as metadata. */
  apiRequests: 'ApiRequests',
  api5xx: 'Api5xx',
  apiLatencyMs: 'ApiLatency',
  /** Authorizer: allowed and denied decisions. */
  authorizerAllowed: 'AuthorizerAllowed',
  authorizerDenied: 'AuthorizerDenied',
  /** Worker: jobs that finished COMPLETED, finished FAILED, or could not be run (the record is retried). */
  jobsCompleted: 'JobsCompleted',
  jobsFailed: 'JobsFailed',
  jobRunErrors: 'JobRunErrors',
  /** Worker: runs stopped before the invocation timed out, back in the queue for another one. */
  jobsRequeued: 'JobsRequeued',
  /** Sweep: RUNNING jobs whose lease had expired (their invocation died), re-queued or failed. */
  leasesRecovered: 'LeasesRecovered',
  /** Worker: stream records skipped (TTL deletions, non-runnable changes). */
  recordsSkipped: 'StreamRecordsSkipped',
} as const;
