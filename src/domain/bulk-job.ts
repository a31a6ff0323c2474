/**
 * The bulk job (API.md "Bulk API", Salesforce Bulk 2.0 names): an export (`query`) or an import
 * (`insert`, `update`, `upsert`, `delete`) with its state machine
 *
 *   Open ──► UploadComplete ──► InProgress ──► JobComplete | Failed
 *     └───────────┴───────────────────┴──────► Aborted
 *
 * plus one worker-only edge, InProgress → UploadComplete: a job whose worker died (its lease
 * expired) or hit a transient failure goes back to the queue. Every move is a conditional update
 * in the StateStore; an illegal one is 409 CONFLICT carrying the current state.
 */
import { conflict } from './errors.js';
import type { JobError } from './query-job.js';

export const BULK_STATES = [
  'Open',
  'UploadComplete',
  'InProgress',
  'JobComplete',
  'Failed',
  'Aborted',
] as const;
export type BulkJobState = (typeof BULK_STATES)[number];
export const TERMINAL_BULK_STATES: readonly BulkJobState[] = ['JobComplete', 'Failed', 'Aborted'];

export const BULK_OPERATIONS = ['query', 'insert', 'update', 'upsert', 'delete'] as const;
export type BulkOperation = (typeof BULK_OPERATIONS)[number];
export type ImportOperation = Exclude<BulkOperation, 'query'>;

export const BULK_CONTENT_TYPES = ['CSV', 'JSON', 'PARQUET'] as const;
export type BulkContentType = (typeof BULK_CONTENT_TYPES)[number];
export const BULK_COMPRESSIONS = ['NONE', 'GZIP'] as const;
export type BulkCompression = (typeof BULK_COMPRESSIONS)[number];
export const COLUMN_DELIMITERS = [',', '|', '\t'] as const;
export type ColumnDelimiter = (typeof COLUMN_DELIMITERS)[number];
export const LINE_ENDINGS = ['LF', 'CRLF'] as const;
export type LineEnding = (typeof LINE_ENDINGS)[number];
/** JSON exports: one object per line, or one JSON array. Imports read either. */
export const JSON_FORMATS = ['NDJSON', 'ARRAY'] as const;
export type JsonFormat = (typeof JSON_FORMATS)[number];

/** Legal moves: from → targets. `UploadComplete` from `InProgress` is the worker's retry edge. */
const TRANSITIONS: Record<BulkJobState, readonly BulkJobState[]> = {
  Open: ['UploadComplete', 'Aborted'],
  UploadComplete: ['InProgress', 'Aborted'],
  InProgress: ['JobComplete', 'Failed', 'Aborted', 'UploadComplete'],
  JobComplete: [],
  Failed: [],
  Aborted: [],
};

export const isTerminalBulkState = (s: BulkJobState) => TERMINAL_BULK_STATES.includes(s);
export const isImport = (op: BulkOperation): op is ImportOperation => op !== 'query';

/** The states a job may be in for `to` to be legal. */
export function bulkSourcesOf(to: BulkJobState): BulkJobState[] {
  return BULK_STATES.filter((from) => TRANSITIONS[from].includes(to));
}

export function assertBulkTransition(from: BulkJobState, to: BulkJobState): void {
  if (!TRANSITIONS[from].includes(to)) {
    throw conflict(`bulk job is ${from}; cannot move to ${to}`, { state: from, requested: to });
  }
}

/** The uploaded input file of an import. */
export interface BulkUpload {
  key: string;
  sizeBytes: number;
  receivedAt: string;
}

/** What a finished job produced. */
export interface BulkResult {
  /** Exports: the data file. Imports: null. */
  key: string | null;
  format: BulkContentType;
  compression: BulkCompression;
  sizeBytes: number;
  /** Exports: rows written. Imports: records loaded (processed − failed). */
  rowCount: number;
  /** Hex SHA-256 of the stored bytes (as downloaded). */
  sha256: string | null;
  /** Imports: the failed-results CSV (null when there is none). */
  failedKey: string | null;
  /** Column names and warehouse types of an export. */
  columns: { name: string; type: string }[];
}

export interface BulkJob {
  jobId: string;
  tenantId: string;
  operation: BulkOperation;
  /** Target table of an import, as the client named it (validated against the catalog). */
  object: string | null;
  /** Export SQL as the client sent it; the guard's deparsed SQL is `plannedSql`. */
  query: string | null;
  plannedSql: string | null;
  contentType: BulkContentType;
  compression: BulkCompression;
  columnDelimiter: ColumnDelimiter;
  lineEnding: LineEnding;
  jsonFormat: JsonFormat;
  externalIdField: string | null;
  state: BulkJobState;
  /** Database role the job runs as (the creator's, at creation). */
  dbUser: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /** When it entered UploadComplete (its place in the queue). */
  queuedAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  recordsProcessed: number;
  recordsFailed: number;
  error: JobError | null;
  upload: BulkUpload | null;
  result: BulkResult | null;
  timeoutSeconds: number;
  statementRef: string | null;
  attempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  notBefore: string | null;
  expiresAt: string;
  version: number;
}

export function newBulkJobId(): string {
  return `bulk-${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** Salesforce's job types, kept for clients of the original API. */
export const jobTypeOf = (op: BulkOperation): 'V2Query' | 'V2Ingest' =>
  op === 'query' ? 'V2Query' : 'V2Ingest';
