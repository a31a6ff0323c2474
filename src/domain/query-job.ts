/** The query job: every query, sync or async, is recorded as one (the audit trail). */
import { conflict } from './errors.js';

export type JobStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
export const JOB_STATUSES: readonly JobStatus[] = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** Legal transitions: from → allowed targets. */
const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  QUEUED: ['RUNNING', 'CANCELLED'],
  RUNNING: ['COMPLETED', 'FAILED', 'CANCELLED', 'QUEUED'],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
};

/** The statuses a job may be in for `to` to be legal. */
export function allowedSources(to: JobStatus): JobStatus[] {
  return JOB_STATUSES.filter((from) => TRANSITIONS[from].includes(to));
}

export function assertTransition(from: JobStatus, to: JobStatus): void {
  if (!TRANSITIONS[from].includes(to)) {
    throw conflict(`job is ${from}; cannot move to ${to}`, { status: from });
  }
}

export interface JobError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface QueryJob {
  jobId: string;
  tenantId: string;
  status: JobStatus;
  /** The SQL as the tenant submitted it (what they recognise); the deparsed SQL is in `plannedSql`. */
  sql: string;
  plannedSql: string | null;
  async: boolean;
  rowLimit: number;
  timeoutSeconds: number;
  submittedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  rowCount: number | null;
  /** Sync queries: whether rows beyond the limit existed (only the limit was returned). */
  truncated: boolean | null;
  executionTimeMs: number | null;
  error: JobError | null;
  /** Warehouse reference of the running statement, for cancellation from any process. */
  statementRef: string | null;
  /** Credential that submitted the job (key id or JWT subject). */
  submittedBy: string;
  expiresAt: string;
  version: number;
}

export function newJobId(): string {
  return `job-${crypto.randomUUID().replaceAll('-', '').slice(0, 20)}`;
}
