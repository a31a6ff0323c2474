/** What the worker claims and runs, per kind of job: its queue and how to run one claimed job. */
import type { JobQueueStore, QueuedJob } from '../state/port.js';
import type { RunEnd, StopReason } from './run-job.js';

/** One claimed job being run. */
export interface JobRunner {
  run(): Promise<RunEnd>;
  stop(reason: StopReason): void;
}

/** A kind of job the worker claims: its queue, and how to run one (with the worker's lease owner). */
export interface JobKind<J extends QueuedJob = QueuedJob> {
  name: string;
  queue: JobQueueStore<J>;
  start(job: J, owner: string): JobRunner;
}
