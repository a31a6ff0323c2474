/**
 * The Warehouse port: run one validated statement as a tenant's database user and stream its rows.
 * Adapters: postgres/ (pg over the wire), redshift-data/ (the Redshift Data API). One contract suite runs against each.
 */

/** A column as the warehouse describes it, with a Redshift-style type name (`INTEGER`, `DECIMAL(12,2)`, …). */
export interface ColumnInfo {
  name: string;
  type: string;
}

/**
 * A row is an array of JSON-ready values, one per column, encoded as docs/types.md says
 * (numeric as string, timestamps as RFC 3339 strings, bytea as base64, NULL as null, …).
 */
export type Row = unknown[];

/** Where rows go. `columns` is called exactly once, before the first `rows` call. */
export interface RowSink {
  columns(columns: ColumnInfo[]): void | Promise<void>;
  /** Returning a promise applies backpressure: the adapter fetches no more rows until it settles. */
  rows(batch: Row[]): void | Promise<void>;
}

/** An opaque reference to a running statement, usable by `cancel` from any process. */
export type StatementRef = string;

export interface ExecutionContext {
  tenantId: string;
  dbUser: string;
  timeoutMs: number;
  /** Aborting cancels the statement in the warehouse (client disconnect, job cancel). */
  signal?: AbortSignal;
  /** Stop after this many rows (the Query API passes limit + 1). Undefined = all rows. */
  maxRows?: number;
  /**
   * The statement itself cannot return more than `maxRows` rows (the SQL guard set its LIMIT), so
   * the adapter may fetch them in one round trip instead of through a cursor.
   */
  boundedByStatement?: boolean;
  /** A label for the statement (e.g. the job id), visible in the warehouse's activity views. */
  label?: string;
  /** Called once the statement is running, with a reference `cancel` accepts. */
  onStatement?: (ref: StatementRef) => void;
}

export interface StatementInput {
  /** The guard's deparsed SQL with `$1..$n` placeholders; never a tenant's original text. */
  sql: string;
  params: unknown[];
}

export interface ExecutionResult {
  rowCount: number;
  /** True when the adapter stopped reading because `maxRows` was reached. */
  stoppedAtMaxRows: boolean;
  statementRef: StatementRef;
}

export interface Warehouse {
  execute(ctx: ExecutionContext, statement: StatementInput, sink: RowSink): Promise<ExecutionResult>;
  /** Cancel a running statement; resolves true when something was cancelled. Safe to call late. */
  cancel(ref: StatementRef): Promise<boolean>;
  /** Throws WAREHOUSE_UNAVAILABLE when the warehouse cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Tenant roles in the warehouse (the admin side of isolation): create a tenant's database role,
 * prove RLS confines it, and drop it. Needs a connection with the right to create roles.
 */
export interface TenantRoles {
  /** Idempotent. Creates the role (no login), grants the tenant group, maps it to `tenantId`. */
  provision(tenantId: string, dbUser: string): Promise<void>;
  /** Runs a probe as `dbUser`: it must see no row of another tenant in any tenant table. Throws otherwise. */
  verifyIsolation(tenantId: string, dbUser: string): Promise<void>;
  drop(dbUser: string): Promise<void>;
  close(): Promise<void>;
}
