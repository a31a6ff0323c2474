/** The async job worker: claim, lease + heartbeat, run into the ResultStore, finish; and retention. */

export { BulkJobRun, bulkJobKind } from './bulk-run.js';
export { type ClaimCandidate, claimOrder } from './claim-order.js';
export { isTransient, jobErrorOf, retryDelayMs } from './failure-policy.js';
export { type JobKind, type JobRunner, JobWorker, type JobWorkerOptions } from './job-worker.js';
export { RetentionSweeper, type SweepCounts } from './retention-sweeper.js';
export { jobPrefix, resultKey, type WorkerLog } from './run-job.js';
