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
  /**
   * The caller stores the result whatever its size (async jobs, bulk exports): an adapter whose
   * result channel is capped (the Data API's GetStatementResult) takes its bulk path instead (UNLOAD).
   */
  resultOfAnySize?: boolean;
  /** A label for the statement (e.g. the job id), visible in the warehouse's activity views. */
  label?: string;
  /** Called once the statement is running, with a reference `cancel` accepts. */
  onStatement?: (ref: StatementRef) => void;
  /**
   * Stop reading once the result rows reach this many bytes (as the warehouse sends them):
   * the rows read so far are delivered and `stoppedAtMaxBytes` is true. Undefined = no cap.
   */
  maxResultBytes?: number;
  /**
   * Pays for result bytes before they are read. Without it the adapter opens an account of its own
   * (when configured with a process budget) and releases each batch once the sink has taken it.
   */
  resultMemory?: ResultMemoryAccount;
}

/**
 * One statement's share of the process's result memory (services/result-memory-budget.ts).
 * The adapter reserves bytes before reading them and releases them once the sink has taken them.
 */
export interface ResultMemoryAccount {
  /** Bytes one fetch should hold at most, so that several statements can each have one in flight. */
  readonly fetchBytes: number;
  /** `true` when granted at once; otherwise settles when granted, or rejects (503) when the budget stays full. */
  reserve(bytes: number): true | Promise<void>;
  release(bytes: number): void;
  /** Returns everything still held. */
  close(): void;
}

/** The process's budget of result bytes held in memory at once. */
export interface ResultMemory {
  open(signal?: AbortSignal): ResultMemoryAccount;
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
  /** True when the adapter stopped reading because `maxResultBytes` was reached. */
  stoppedAtMaxBytes?: boolean;
  statementRef: StatementRef;
}

export interface Warehouse {
  /** The SQL it reads: the guard renders plans in it (undefined: PostgreSQL). */
  readonly sqlDialect?: 'redshift' | 'postgres';
  execute(ctx: ExecutionContext, statement: StatementInput, sink: RowSink): Promise<ExecutionResult>;
  /** Cancel a running statement; resolves true when something was cancelled. Safe to call late. */
  cancel(ref: StatementRef): Promise<boolean>;
  /** Throws WAREHOUSE_UNAVAILABLE when the warehouse cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /**
   * Every table and view `ctx.dbUser` may SELECT from, outside system schemas, as the warehouse's
   * catalog answers for that user (its privileges decide; nothing is filtered by name in our code).
   */
  listTables?(ctx: ExecutionContext): Promise<CatalogTable[]>;

  /**
   * The columns of each relation, one list per name in the order asked, each in the relation's own
   * column order (what `SELECT *` of it returns). A name is its identifier parts as the parser reads
   * them (quotes removed, unquoted parts already case-folded), resolved as a statement of `ctx.dbUser`
   * would resolve it (unqualified: on that statement's search_path), and read as `ctx.dbUser` with its
   * privileges, never the login role's. A relation that does not exist, or whose columns the user
   * cannot all SELECT, fails the call with the QUERY_FAILED (422) `SELECT * FROM` it gives (same
   * SQLSTATE and message), naming no column. The PostgreSQL rendering of a PIVOT/UNPIVOT over a table
   * needs it: only an adapter whose warehouse runs Redshift SQL (`sqlDialect: 'redshift'`) leaves it
   * undefined, as Redshift reads its own catalog. The warehouse contract checks both.
   */
  relationColumns?(ctx: ExecutionContext, relations: readonly string[][]): Promise<string[][]>;

  // Bulk paths (the Bulk API). Adapters without them leave them undefined: bulk exports then go
  // through `execute`, and bulk imports fail with a clear error.

  /**
   * A table as the catalog describes it to `ctx.dbUser`: columns, unique keys, the caller's
   * privileges. The name is matched against the catalog (never interpolated): unknown or hidden
   * tables are INVALID_REQUEST.
   */
  describeTable?(ctx: ExecutionContext, object: string): Promise<TableDescription>;
  /**
   * Streams the statement's rows as CSV (no header; the columns are reported first) in the
   * warehouse's own text forms, as `ctx.dbUser` (row-level security applies), with backpressure.
   */
  copyOut?(
    ctx: ExecutionContext,
    statement: StatementInput,
    opts: CopyOutOptions,
    sink: CopyOutSink,
  ): Promise<CopyOutResult>;
  /**
   * Loads staged records into a table in ONE transaction as `ctx.dbUser`: every record is
   * checked (types, NOT NULL, CHECK constraints, duplicate keys, tenant, existence for
   * update/delete) and the failures go to `failed` (in record order, before COMMIT) while the rest
   * are applied. Any error, an abort, or a lost connection leaves the table unchanged.
   */
  copyIn?(
    ctx: ExecutionContext,
    request: CopyInRequest,
    staged: AsyncIterable<Uint8Array>,
    failed: FailedRecordSink,
  ): Promise<CopyInOutcome>;
}

/** A readable relation as the catalog API (`GET /v1/catalog/tables`) shows it. */
export interface CatalogTable {
  schema: string;
  name: string;
  kind: 'table' | 'view' | 'materialized_view';
  columns: CatalogColumn[];
  /** Columns of the primary key in key order; empty when there is none (or it is not visible). */
  primaryKey: string[];
  /** The planner's row count, or null when unknown or when it would count other tenants' rows. */
  rowEstimate: number | null;
  description: string | null;
}

export interface CatalogColumn {
  name: string;
  /** Redshift-style type name, as query metadata names it (`DECIMAL(12,2)`, `VARCHAR`, `TIMESTAMPTZ`). */
  type: string;
  nullable: boolean;
}

export interface TableColumn {
  name: string;
  /** The warehouse's own spelling of the type, with its modifier (`numeric(12,2)`, `integer[]`). */
  sqlType: string;
  /** Redshift-style type name, as docs/types.md names result columns (`DECIMAL(12,2)`, `SUPER`). */
  typeName: string;
  notNull: boolean;
  hasDefault: boolean;
  /** Generated or identity-always: cannot be written. */
  generated: boolean;
}

export interface TableDescription {
  schema: string;
  name: string;
  columns: TableColumn[];
  /** Column sets of the primary key and unique indexes (without expressions or predicates). */
  uniqueKeys: string[][];
  /** What `ctx.dbUser` may do to the table (the database decides; we only read its answer). */
  privileges: { select: boolean; insert: boolean; update: boolean; delete: boolean };
  /** Name of the tenant column (`tenant_id`), written from the credential; null when absent. */
  tenantColumn: string | null;
}

export interface CopyOutOptions {
  delimiter: ',' | '|' | '\t';
}

export interface CopyOutSink {
  columns(columns: ColumnInfo[]): void | Promise<void>;
  /** CSV bytes, records ended by LF; returning a promise applies backpressure. */
  data(chunk: Uint8Array): void | Promise<void>;
}

export interface CopyOutResult {
  rowCount: number;
  statementRef: StatementRef;
}

export type ImportOperation = 'insert' | 'update' | 'upsert' | 'delete';

export interface CopyInRequest {
  /** The table as the client named it; resolved against the catalog again inside the transaction. */
  object: string;
  operation: ImportOperation;
  /** Catalog names of the staged columns, in staging order. */
  columns: string[];
  /** The key column of update, upsert and delete. */
  externalId: string | null;
  /** The caller's tenant: a record naming another tenant fails; a record without one gets it. */
  tenantId: string;
  /** Field delimiter of the staged CSV. */
  delimiter: ',' | '|' | '\t';
}

/**
 * Staged records are CSV (the request's delimiter, `"`, LF; NULL = unquoted empty field, empty
 * string = `""`), one line per input record: `record number, error, raw, value 1 … value n`. A good record has empty
 * error and raw; a record the reader already rejected has its error and its raw text, and no values.
 */
export interface FailedRecord {
  /** The record's number in the input (1 = first record after the header). */
  line: number;
  error: string;
  /** The record as received, when it could not be split into values. */
  raw: string | null;
  /** The record's values as staged (text; null for NULL), when it could be split. */
  values: (string | null)[];
}

export interface FailedRecordSink {
  write(batch: FailedRecord[]): void | Promise<void>;
  /** Called once every failure was written, before COMMIT. */
  close(): Promise<void>;
}

export interface CopyInOutcome {
  /** Records staged (good and already rejected). */
  processed: number;
  /** Records applied to the table. */
  loaded: number;
  failed: number;
  statementRef: StatementRef;
}

/**
 * Tenant roles in the warehouse (the admin side of isolation): create a tenant's database role,
 * prove RLS confines it, and drop it. Needs a connection with the right to create roles.
 */
export interface TenantRoles {
  /**
   * Idempotent. Creates the role (no login), grants the tenant group, maps it to `tenantId`.
   * `created`: the role did not exist before, so undoing this call means dropping it.
   */
  provision(tenantId: string, dbUser: string): Promise<{ created: boolean }>;
  /** Runs a probe as `dbUser`: it must see no row of another tenant in any tenant table. Throws otherwise. */
  verifyIsolation(tenantId: string, dbUser: string): Promise<void>;
  drop(dbUser: string): Promise<void>;
  close(): Promise<void>;
}
