/** The async job worker: claim, lease + heartbeat, run into the ResultStore, finish; and retention. */

export { BulkJobRun, bulkJobKind } from './bulk-run.js';
export {
  type ClaimedJob,
  type ClaimOptions,
  claimJob,
  QUERY_KIND,
  queryJobKind,
} from './claim-job.js';
export { type ClaimCandidate, claimOrder } from './claim-order.js';
export { isTransient, jobErrorOf, retryDelayMs } from './failure-policy.js';
export {
  type JobKind,
  type JobRunner,
  JobWorker,
  type JobWorkerOptions,
  queueHeads,
} from './job-worker.js';
export { RetentionSweeper, type SweepCounts } from './retention-sweeper.js';
export { jobPrefix, type RunEnd, resultKey, type StopReason, type WorkerLog } from './run-job.js';
