/**
 * The audit trail on PostgreSQL: batches written with one COPY (measured ~11 µs per entry against
 * ~28 µs for a multi-row INSERT), read by (at, entry_id) either way (the indexes scan backwards too).
 */
import type pg from 'pg';
import type { AuditEntry } from '../../domain/audit-entry.js';
import { invalidRequest } from '../../domain/errors.js';
import type { AuditFilter, AuditStore, Page, PageRequest } from '../port.js';
import { copyField, copyIn } from './copy-in.js';
import { iso } from './job-rows.js';

type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;
type Connect = () => Promise<pg.PoolClient>;

const COLUMNS = [
  'at',
  'entry_id',
  'tenant_id',
  'request_id',
  'trace_id',
  'principal',
  'auth_method',
  'method',
  'route',
  'status',
  'outcome',
  'error_code',
  'job_id',
  'sql_fingerprint',
  'sql',
  'param_names',
  'row_count',
  'bytes',
  'duration_ms',
  'client_ip',
] as const;
const COPY_SQL = `COPY audit_entries (${COLUMNS.join(', ')}) FROM STDIN`;

/** A text[] literal with every element quoted. */
function arrayLiteral(items: string[]): string {
  return `{${items.map((i) => `"${i.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

function copyLine(e: AuditEntry): string {
  return (
    [
      e.at,
      e.entryId,
      e.tenantId,
      e.requestId,
      e.traceId,
      e.principal,
      e.authMethod,
      e.method,
      e.route,
      e.status,
      e.outcome,
      e.errorCode,
      e.jobId,
      e.sqlFingerprint,
      e.sql,
      arrayLiteral(e.paramNames),
      e.rowCount,
      e.bytes,
      e.durationMs,
      e.clientIp,
    ]
      // PostgreSQL text cannot hold NUL; one would fail the whole batch.
      .map((v) => copyField(typeof v === 'string' ? v.replaceAll('\0', '') : v))
      .join('\t')
  );
}

function rowToEntry(r: Record<string, unknown>): AuditEntry {
  return {
    entryId: r.entry_id as string,
    at: iso(r.at)!,
    requestId: r.request_id as string,
    traceId: (r.trace_id as string | null) ?? null,
    tenantId: r.tenant_id as string,
    principal: r.principal as string,
    authMethod: r.auth_method as string,
    method: r.method as string,
    route: r.route as string,
    status: r.status as number,
    outcome: r.outcome as AuditEntry['outcome'],
    errorCode: (r.error_code as string | null) ?? null,
    jobId: (r.job_id as string | null) ?? null,
    sqlFingerprint: (r.sql_fingerprint as string | null) ?? null,
    sql: (r.sql as string | null) ?? null,
    paramNames: (r.param_names as string[]) ?? [],
    rowCount: r.row_count == null ? null : Number(r.row_count),
    bytes: r.bytes == null ? null : Number(r.bytes),
    durationMs: r.duration_ms as number,
    clientIp: (r.client_ip as string | null) ?? null,
  };
}

function encodeCursor(e: AuditEntry): string {
  return Buffer.from(JSON.stringify([e.at, e.entryId])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parts) &&
      parts.length === 2 &&
      typeof parts[0] === 'string' &&
      typeof parts[1] === 'string' &&
      !Number.isNaN(Date.parse(parts[0]))
    )
      return [parts[0], parts[1]];
  } catch {}
  throw invalidRequest('malformed cursor', { field: 'cursor' });
}

export class PostgresAuditStore implements AuditStore {
  constructor(
    private readonly q: Query,
    private readonly connect: Connect,
  ) {}

  async append(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await copyIn(this.connect, COPY_SQL, `${entries.map(copyLine).join('\n')}\n`);
  }

  async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry>> {
    const params: unknown[] = [];
    const where: string[] = [];
    const param = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (filter.tenantId !== undefined) where.push(`tenant_id = ${param(filter.tenantId)}`);
    if (filter.since !== undefined) where.push(`at >= ${param(filter.since)}::timestamptz`);
    if (filter.until !== undefined) where.push(`at < ${param(filter.until)}::timestamptz`);
    const desc = filter.order === 'desc';
    if (page.cursor) {
      const [at, id] = decodeCursor(page.cursor);
      where.push(`(at, entry_id) ${desc ? '<' : '>'} (${param(at)}::timestamptz, ${param(id)})`);
    }
    const direction = desc ? 'DESC' : 'ASC';
    const r = await this.q(
      `SELECT * FROM audit_entries ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY at ${direction}, entry_id ${direction} LIMIT ${param(page.limit + 1)}`,
      params,
    );
    const items = r.rows.slice(0, page.limit).map(rowToEntry);
    const last = items[items.length - 1];
    return { items, nextCursor: r.rows.length > page.limit && last ? encodeCursor(last) : null };
  }

  async deleteBefore(before: string, max: number): Promise<number> {
    const r = await this.q(
      `DELETE FROM audit_entries WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM audit_entries WHERE at < $1::timestamptz ORDER BY at LIMIT $2))`,
      [before, max],
    );
    return r.rowCount ?? 0;
  }
}
