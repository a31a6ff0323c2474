/**
 * One audit record per authenticated `/v1` request: who asked for what, what ran, how it ended.
 * Never holds a credential or a bind-parameter value: parameters are recorded by name only.
 */

export type AuditOutcome = 'success' | 'error' | 'aborted';

export interface AuditEntry {
  /** Time-ordered id (`aud-…`). */
  entryId: string;
  /** When the request arrived (RFC 3339). */
  at: string;
  requestId: string;
  traceId: string | null;
  tenantId: string;
  /** The credential: API key id, or JWT subject (`jwt:<sub>`), or the trusted-header identity. */
  principal: string;
  authMethod: string;
  method: string;
  /** The route pattern (`/v1/jobs/:id`), never the raw path. */
  route: string;
  status: number;
  outcome: AuditOutcome;
  errorCode: string | null;
  jobId: string | null;
  /** sha256 of the deparsed statement (`SqlPlan.fingerprint`). */
  sqlFingerprint: string | null;
  /** The deparsed statement that ran; for a statement the guard refused, the start of the submitted text. */
  sql: string | null;
  paramNames: string[];
  rowCount: number | null;
  /** Bytes written to the client (headers included). */
  bytes: number | null;
  durationMs: number;
  clientIp: string | null;
}

/** Longest SQL text an entry keeps. */
export const AUDIT_SQL_MAX_CHARS = 4000;

let seq = 0;
/** Sortable by creation within a process, unique across processes. */
export function newAuditEntryId(nowMs: number = Date.now()): string {
  seq = (seq + 1) % 1296;
  return `aud-${nowMs.toString(36).padStart(9, '0')}${seq.toString(36).padStart(2, '0')}${crypto.randomUUID().slice(0, 8)}`;
}
