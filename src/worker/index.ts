/** The async job worker: claim, lease + heartbeat, run into the ResultStore, finish; and retention. */

export { type ClaimedJob, type ClaimOptions, claimJob } from './claim-job.js';
export { type ClaimCandidate, claimOrder } from './claim-order.js';
export { isTransient, jobErrorOf, retryDelayMs } from './failure-policy.js';
export type {
  ClaimableKind,
  Claimed,
  JobExecution,
  JobKind,
  JobRunner,
  RunEnd,
  StopReason,
  WorkerLog,
  WorkerMetrics,
} from './job-kind.js';
export { claimable, JobRun, type JobRunDeps, outOfTime } from './job-run.js';
export { JobWorker, type JobWorkerOptions, queueHeads } from './job-worker.js';
export { BULK_KIND, bulkJobKind, claimableBulkKind } from './kinds/bulk.js';
export { claimableQueryKind, jobPrefix, QUERY_KIND, queryJobKind, resultKey } from './kinds/query.js';
export { RetentionSweeper, type SweepCounts } from './retention-sweeper.js';
export {
  createJobSweep,
  type Deadline,
  SWEEP_TASKS,
  type SweepReport,
  type SweepTask,
  type WorkerJobs,
} from './sweep.js';
