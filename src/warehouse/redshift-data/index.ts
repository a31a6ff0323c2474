/**
 * Warehouse adapter for Amazon Redshift through the Redshift Data API (serverless shape).
 *
 * One statement = ExecuteStatement (as the tenant: `DbUser` on a provisioned cluster, or the
 * tenant's `SecretArn`) → DescribeStatement polled with backoff until a deadline → result pages
 * streamed into the sink (CSV through GetStatementResultV2 by default, typed JSON through
 * GetStatementResult as the fallback). Sessions are reused per (tenant, db user) through
 * `SessionKeepAliveSeconds` / `SessionId`, kept in the StateStore's `sessions` (shared by every
 * process); a session the API refuses (busy, expired, gone) is dropped and the statement
 * resubmitted on a new one. Timeouts, aborts and `cancel(ref)` call
 * CancelStatement. Design notes: docs/aws.md.
 */
import { StringDecoder } from 'node:string_decoder';
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  type ColumnMetadata,
  DescribeStatementCommand,
  type DescribeStatementResponse,
  ExecuteStatementCommand,
  type ExecuteStatementInput,
  type Field,
  GetStatementResultCommand,
  GetStatementResultV2Command,
  RedshiftDataClient,
  type RedshiftDataClientConfig,
} from '@aws-sdk/client-redshift-data';
import { ApiError } from '../../domain/errors.js';
import type { ClaimedSession, WarehouseSession } from '../../domain/warehouse-session.js';
import { type DataApiParameter, toDataApiStatement } from '../../sql/data-api-params.js';
import { initSqlGuard } from '../../sql/parser.js';
import type { SessionClaim, WarehouseSessionStore } from '../../state/port.js';
import type {
  CatalogTable,
  CopyInOutcome,
  CopyInRequest,
  CopyOutOptions,
  CopyOutResult,
  CopyOutSink,
  ExecutionContext,
  ExecutionResult,
  FailedRecordSink,
  Row,
  RowSink,
  StatementInput,
  StatementRef,
  TableDescription,
  Warehouse,
} from '../port.js';
import { StatementCancelledError } from '../statement-cancelled.js';
import { type CatalogQuery, describeTableOverDataApi } from './catalog.js';
import { type ImportRunner, importThroughCopy, planImport } from './copy-import.js';
import { type CsvField, CsvRecordReader } from './csv-records.js';
import {
  awsErrorName,
  isRefusedForLoad,
  isSessionRefusal,
  isTransientRead,
  statementFailure,
  translateAwsError,
} from './errors.js';
import { InMemorySessionStore } from './sessions.js';
import { listTablesOverDataApi } from './table-catalog.js';
import { type ResultColumn, resultColumns } from './types.js';
import { inlineParameters } from './unload-copy-sql.js';
import { exportThroughUnload, type RedshiftUnloadOptions, unloadQuery } from './unload-export.js';

export { InMemorySessionStore } from './sessions.js';
export type { RedshiftUnloadOptions } from './unload-export.js';

const REF_PREFIX = 'rsd:';
/** A session this close to its expiry is not reused: the statement could outlive it. */
const SESSION_EXPIRY_MARGIN_MS = 10_000;
/** A claim outlives the statement's deadline by this much before another process may take the session. */
const SESSION_CLAIM_MARGIN_MS = 10_000;
const LABEL_PATTERN = /^[A-Za-z0-9_.:-]{1,60}$/;
/** After CancelStatement, how long to wait for the statement to reach a final status. */
const CANCEL_SETTLE_MS = 2000;
const CANCEL_SETTLE_POLL_MS = 20;
const FINAL_STATUSES = new Set(['FINISHED', 'FAILED', 'ABORTED']);

export type RedshiftTarget = { clusterIdentifier: string } | { workgroupName: string };

/**
 * How a statement authenticates as its tenant. `db-user`: temporary credentials for the tenant's
 * db user (provisioned clusters only). `secret`: one Secrets Manager secret per tenant, its ARN
 * built from a template with `{tenant}` and/or `{db_user}`.
 */
export type RedshiftAuth = { kind: 'db-user' } | { kind: 'secret'; secretArnTemplate: string };

export interface PollingOptions {
  /** First DescribeStatement wait. */
  initialMs: number;
  maxMs: number;
  factor: number;
}

/**
 * Calls refused for load (ThrottlingException, ActiveStatementsExceededException) are sent again,
 * and reads (DescribeStatement, GetStatementResult) also after a 5xx or network error, waiting a
 * random time in [0, min(maxMs, baseMs·2^(n−1))) before the n-th retry ("full jitter"), within
 * the statement's deadline. On top of the SDK's own retries, which do not cover capacity refusals.
 */
export interface RetryOptions {
  /** Tries per call, the first included (1 = no retry). */
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
  /** Uniform in [0, 1): the jitter. */
  random: () => number;
  /** Waits `ms`, or less when `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RedshiftDataWarehouseOptions {
  target: RedshiftTarget;
  database: string;
  auth: RedshiftAuth;
  /** A ready client (tests, shared clients); otherwise one is made from `clientConfig`. */
  client?: RedshiftDataClient;
  clientConfig?: RedshiftDataClientConfig;
  /** `CSV` (default): GetStatementResultV2; `JSON`: typed GetStatementResult. */
  resultFormat?: 'CSV' | 'JSON';
  /** 0 disables session reuse. */
  sessionKeepAliveSeconds: number;
  /** Sessions alive per (tenant, db user) in `sessions` (all processes sharing it); beyond, statements run without one. */
  maxSessionsPerUser?: number;
  /** Where sessions are kept: the StateStore's `sessions` in services; default one process's memory. */
  sessions?: WarehouseSessionStore;
  /** Called with each `SessionStats` event as it is counted (metrics). */
  onSessionOutcome?: (outcome: SessionOutcome) => void;
  polling?: Partial<PollingOptions>;
  retry?: Partial<RetryOptions>;
  /**
   * The IAM identity this adapter calls the Data API as (AWS's `aws:userid`; on Lambda, one per
   * function). The Data API lets only the identity that created a statement or session act on
   * it, so sessions are kept per identity and statement refs carry it: another identity's
   * statement is not cancelled from here (its own process does, when it sees the job cancelled).
   * Processes that share one identity may share sessions. Default `default`.
   */
  identity?: string;
  /** S3 staging for bulk exports through UNLOAD (`copyOut`); without it, bulk exports page through `execute`. */
  unload?: RedshiftUnloadOptions;
}

export interface SessionStats {
  /** Statements that ran on a reused session. */
  hits: number;
  /** Statements that found no idle session. */
  misses: number;
  /** Sessions the Data API opened for us. */
  created: number;
  /** Reused sessions the Data API refused (busy, expired, closed): dropped, statement resubmitted. */
  replaced: number;
  /** Statements that ran without a session (disabled, per-user cap, or session limit reached). */
  sessionless: number;
}

export type SessionOutcome = keyof SessionStats;

interface Submitted {
  id: string;
  session: ClaimedSession | null;
}

/** Builds a Data API client; the SDK's Node-version notice is not for our users (NOTES.md). */
export function createRedshiftDataClient(config: RedshiftDataClientConfig = {}): RedshiftDataClient {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new RedshiftDataClient(config);
}

export class RedshiftDataWarehouse implements Warehouse {
  /** Plans reach the Data API in Redshift's own SQL (QUALIFY, APPROXIMATE, … kept). */
  readonly sqlDialect = 'redshift' as const;
  private readonly client: RedshiftDataClient;
  private readonly ownsClient: boolean;
  private readonly sessions: WarehouseSessionStore;
  private readonly polling: PollingOptions;
  private readonly retry: RetryOptions;
  private readonly identity: string;
  private readonly maxSessionsPerUser: number;
  private resultFormat: 'CSV' | 'JSON';
  /** Sessions being opened right now per (tenant, db user): they count against the cap before they exist. */
  private readonly opening = new Map<string, number>();
  private readonly stats: SessionStats = { hits: 0, misses: 0, created: 0, replaced: 0, sessionless: 0 };

  constructor(private readonly opts: RedshiftDataWarehouseOptions) {
    if ('workgroupName' in opts.target && opts.auth.kind === 'db-user') {
      throw new Error(
        'Redshift Serverless derives the database user from the IAM identity, so DbUser cannot select a tenant: configure a per-tenant secret ARN template',
      );
    }
    if (opts.auth.kind === 'secret' && !/\{(tenant|db_user)\}/.test(opts.auth.secretArnTemplate)) {
      throw new Error(
        'the secret ARN must contain {tenant} or {db_user}: one shared secret would run every tenant as the same database user',
      );
    }
    this.client = opts.client ?? createRedshiftDataClient(opts.clientConfig);
    this.ownsClient = opts.client === undefined;
    this.sessions = opts.sessions ?? new InMemorySessionStore();
    this.polling = { initialMs: 50, maxMs: 500, factor: 1.5, ...opts.polling };
    this.identity = opts.identity ?? 'default';
    this.retry = { maxAttempts: 6, baseMs: 100, maxMs: 3000, random: Math.random, sleep, ...opts.retry };
    this.maxSessionsPerUser = opts.maxSessionsPerUser ?? 4;
    this.resultFormat = opts.resultFormat ?? 'CSV';
    const unload = opts.unload;
    if (unload) {
      this.copyOut = (ctx, statement, copy, sink) =>
        this.copyOutThroughUnload(unload, ctx, statement, copy, sink);
      this.describeTable = (ctx, object) => this.describeTableAs(ctx, object);
      this.copyIn = (ctx, request, staged, failed) =>
        this.copyInThroughCopy(unload, ctx, request, staged, failed);
    }
  }

  /** The table as the tenant sees it in information_schema (catalog.ts); defined with the S3 settings. */
  readonly describeTable?: (ctx: ExecutionContext, object: string) => Promise<TableDescription>;

  /** Bulk import through COPY from S3 in two batches (copy-import.ts); defined only with `unload` settings. */
  readonly copyIn?: (
    ctx: ExecutionContext,
    request: CopyInRequest,
    staged: AsyncIterable<Uint8Array>,
    failed: FailedRecordSink,
  ) => Promise<CopyInOutcome>;

  /** Bulk CSV export through UNLOAD to S3 (unload-export.ts); defined only with `unload` settings. */
  readonly copyOut?: (
    ctx: ExecutionContext,
    statement: StatementInput,
    opts: CopyOutOptions,
    sink: CopyOutSink,
  ) => Promise<CopyOutResult>;

  get sessionStats(): SessionStats {
    return { ...this.stats };
  }

  async execute(ctx: ExecutionContext, statement: StatementInput, sink: RowSink): Promise<ExecutionResult> {
    // GetStatementResult caps a result at 100 MB and a row at 64 KB: a stored result of any size is unloaded.
    if (ctx.resultOfAnySize && this.opts.unload) {
      return this.executeThroughUnload(this.opts.unload, ctx, statement, sink);
    }
    return this.executePaged(ctx, statement, sink);
  }

  private async executePaged(
    ctx: ExecutionContext,
    statement: StatementInput,
    sink: RowSink,
    onColumns?: (columns: ResultColumn[]) => void,
  ): Promise<ExecutionResult> {
    if (ctx.signal?.aborted) throw new StatementCancelledError();
    const deadline = Date.now() + ctx.timeoutMs;
    await initSqlGuard(); // the parameter rewrite uses the guard's tokenizer (loaded once)
    const { sql, parameters } = toDataApiStatement(statement.sql, statement.params);
    const submitted = await this.submit(ctx, sql, parameters, deadline);
    const statementRef = this.refOf(submitted.id);
    ctx.onStatement?.(statementRef);
    let description: DescribeStatementResponse;
    try {
      description = await this.waitForCompletion(submitted.id, ctx, deadline);
    } finally {
      // The result is cached by the Data API: the session is free once the statement has ended.
      if (submitted.session) {
        await this.sessions
          .release(submitted.session, Date.now() + this.opts.sessionKeepAliveSeconds * 1000)
          .catch(() => false);
      }
    }
    const result = await this.readResult(submitted.id, description, ctx, sink, onColumns);
    return { ...result, statementRef };
  }

  /** The statement's columns with their decoders, from its ColumnMetadata under LIMIT 0 (no row is read). */
  private async resultShape(ctx: ExecutionContext, statement: StatementInput): Promise<ResultColumn[]> {
    let shape: ResultColumn[] = [];
    const { onStatement: _unreported, maxRows: _all, resultOfAnySize: _paged, ...describeCtx } = ctx;
    await this.executePaged(
      describeCtx,
      { sql: `SELECT * FROM (${statement.sql}) AS q LIMIT 0`, params: statement.params },
      { columns: () => {}, rows: () => {} },
      (c) => {
        shape = c;
      },
    );
    return shape;
  }

  /**
   * A result of any size: UNLOAD as gzipped CSV parts to the tenant's S3 staging prefix, the parts
   * streamed back and decoded with the same per-type rules as result pages (so rows are the same
   * values), staging deleted afterwards. Memory: one part chunk and one batch of rows.
   */
  private async executeThroughUnload(
    unload: RedshiftUnloadOptions,
    ctx: ExecutionContext,
    statement: StatementInput,
    sink: RowSink,
  ): Promise<ExecutionResult> {
    if (ctx.signal?.aborted) throw new StatementCancelledError();
    const deadline = Date.now() + ctx.timeoutMs;
    const shape = await this.resultShape(ctx, statement);
    const columns = shape.map((c) => c.info);
    await sink.columns(columns);
    const query = inlineParameters(unloadQuery(statement.sql, columns), statement.params);
    const rows = new UnloadedRows(shape, sink, ctx.maxRows ?? Number.POSITIVE_INFINITY);
    let statementRef = '';
    const runner = this.unloadRunner(ctx, deadline, (ref) => {
      statementRef = ref;
    });
    try {
      await exportThroughUnload(unload, ctx, query, { delimiter: ',' }, rows, runner, deadline);
      await rows.finish();
    } catch (e) {
      if (e !== UnloadedRows.FULL) throw e;
    }
    return { rowCount: rows.count, stoppedAtMaxRows: rows.full, statementRef };
  }

  /** Runs UNLOAD (or any bulk statement) sessionless as the tenant until it finishes. */
  private unloadRunner(ctx: ExecutionContext, deadline: number, onRef: (ref: StatementRef) => void) {
    return {
      run: async (sql: string) => {
        const named = ctx.label && LABEL_PATTERN.test(ctx.label) ? { StatementName: ctx.label } : {};
        // Sessionless: a long UNLOAD would hold a reusable session for its whole run.
        const id = await this.send({ Sql: sql, ...this.connection(ctx), ...named }, ctx);
        const ref = this.refOf(id);
        onRef(ref);
        ctx.onStatement?.(ref);
        await this.waitForCompletion(id, ctx, deadline);
      },
    };
  }

  private async copyOutThroughUnload(
    unload: RedshiftUnloadOptions,
    ctx: ExecutionContext,
    statement: StatementInput,
    copy: CopyOutOptions,
    sink: CopyOutSink,
  ): Promise<CopyOutResult> {
    if (ctx.signal?.aborted) throw new StatementCancelledError();
    const deadline = Date.now() + ctx.timeoutMs;
    // The columns come first, without a row: the ColumnMetadata of the statement under LIMIT 0.
    const columns = (await this.resultShape(ctx, statement)).map((c) => c.info);
    await sink.columns(columns);
    // UNLOAD takes no bind parameters: the values are inlined as Redshift literals.
    const query = inlineParameters(unloadQuery(statement.sql, columns), statement.params);
    let statementRef = '';
    const runner = this.unloadRunner(ctx, deadline, (ref) => {
      statementRef = ref;
    });
    const rowCount = await exportThroughUnload(unload, ctx, query, copy, sink, runner, deadline);
    return { rowCount, statementRef };
  }

  private async describeTableAs(ctx: ExecutionContext, object: string): Promise<TableDescription> {
    return describeTableOverDataApi(this.catalogQuery(ctx), object);
  }

  /** The tables the tenant's database user may SELECT from (table-catalog.ts). */
  async listTables(ctx: ExecutionContext): Promise<CatalogTable[]> {
    return listTablesOverDataApi(this.catalogQuery(ctx));
  }

  /** Catalog statements run as the tenant like any other, their rows collected. */
  private catalogQuery(ctx: ExecutionContext): CatalogQuery {
    const {
      onStatement: _unreported,
      maxRows: _all,
      label: _label,
      resultOfAnySize: _small,
      ...catalogCtx
    } = ctx;
    return async (sql, params) => {
      const rows: unknown[][] = [];
      await this.execute(
        catalogCtx,
        { sql, params },
        { columns: () => {}, rows: (b) => void rows.push(...b) },
      );
      return rows;
    };
  }

  private async copyInThroughCopy(
    unload: RedshiftUnloadOptions,
    ctx: ExecutionContext,
    request: CopyInRequest,
    staged: AsyncIterable<Uint8Array>,
    failed: FailedRecordSink,
  ): Promise<CopyInOutcome> {
    if (ctx.signal?.aborted) throw new StatementCancelledError();
    const deadline = Date.now() + ctx.timeoutMs;
    // Resolved again here: the table may have changed since the job was created.
    const table = await this.describeTableAs(ctx, request.object);
    const plan = planImport(table, request, ctx.dbUser);
    const runner: ImportRunner = {
      batch: async (sqls) => {
        const named = ctx.label && LABEL_PATTERN.test(ctx.label) ? { StatementName: ctx.label } : {};
        let id: string;
        try {
          // Sessionless: the staging table is the batch's own, gone when it ends.
          const out = await this.retried(
            () =>
              this.client.send(
                new BatchExecuteStatementCommand({ Sqls: sqls, ...this.connection(ctx), ...named }),
              ),
            isRefusedForLoad,
            ctx.signal,
            deadline,
          );
          id = out.Id!;
        } catch (e) {
          if (ctx.signal?.aborted) throw new StatementCancelledError();
          throw translateAwsError(e, 'BatchExecuteStatement');
        }
        const ref = this.refOf(id);
        ctx.onStatement?.(ref);
        const d = await this.waitForCompletion(id, ctx, deadline);
        return {
          id,
          ref,
          subStatements: (d.SubStatements ?? []).map((s) => ({
            id: s.Id!,
            resultRows: Number(s.ResultRows ?? 0),
          })),
        };
      },
      records: (id) => this.textPages(id, ctx),
    };
    const counts = await importThroughCopy(unload, ctx, plan, staged, failed, runner);
    return counts;
  }

  /** A (sub-)statement's JSON result pages, every field as text. */
  private async *textPages(id: string, ctx: ExecutionContext): AsyncGenerator<(string | null)[][]> {
    let token: string | undefined;
    do {
      const page = await this.fetchPage(id, token, false, ctx);
      token = page.NextToken;
      yield (page.fields ?? []).map((record) =>
        record.map((f) => {
          if (f.isNull) return null;
          if (f.stringValue !== undefined) return f.stringValue;
          if (f.longValue !== undefined) return String(f.longValue);
          if (f.doubleValue !== undefined) return String(f.doubleValue);
          if (f.booleanValue !== undefined) return String(f.booleanValue);
          return null;
        }),
      );
    } while (token);
  }

  async cancel(ref: StatementRef): Promise<boolean> {
    const statement = parseRef(ref);
    // Another identity's statement: AWS would refuse us; its owner cancels it through the job's state.
    if (!statement || (statement.owner !== undefined && statement.owner !== this.identity)) return false;
    try {
      const out = await this.client.send(new CancelStatementCommand({ Id: statement.id }));
      return out.Status === true;
    } catch {
      return false;
    }
  }

  /** Proves the Data API answers with our credentials (a statement id that cannot exist is looked up). */
  async ping(): Promise<void> {
    try {
      await this.client.send(new DescribeStatementCommand({ Id: crypto.randomUUID() }));
    } catch (e) {
      const name = awsErrorName(e);
      if (name === 'ResourceNotFoundException' || name === 'ValidationException') return;
      throw translateAwsError(e, 'DescribeStatement');
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
    if (this.opts.unload?.ownsS3) this.opts.unload.s3.destroy();
  }

  private connection(ctx: ExecutionContext): Partial<ExecuteStatementInput> {
    const { target, auth, database } = this.opts;
    const where =
      'clusterIdentifier' in target
        ? { ClusterIdentifier: target.clusterIdentifier }
        : { WorkgroupName: target.workgroupName };
    const who =
      auth.kind === 'secret'
        ? {
            SecretArn: auth.secretArnTemplate
              .replaceAll('{tenant}', ctx.tenantId)
              .replaceAll('{db_user}', ctx.dbUser),
          }
        : { DbUser: ctx.dbUser };
    return { ...where, Database: database, ...who };
  }

  /** ExecuteStatement on a reused session, a new session, or none; returns the statement id. */
  private async submit(
    ctx: ExecutionContext,
    sql: string,
    parameters: DataApiParameter[],
    deadline: number,
  ): Promise<Submitted> {
    const base: ExecuteStatementInput = {
      Sql: sql,
      ResultFormat: this.resultFormat,
      ...(parameters.length ? { Parameters: parameters } : {}),
      ...(ctx.label && LABEL_PATTERN.test(ctx.label) ? { StatementName: ctx.label } : {}),
    };
    const keepAlive = this.opts.sessionKeepAliveSeconds;
    if (keepAlive <= 0) {
      this.count('sessionless');
      return { id: await this.send({ ...base, ...this.connection(ctx) }, ctx), session: null };
    }

    // The claim lasts until the statement has surely ended (deadline, then cancel and settle).
    const holdUntil = deadline + CANCEL_SETTLE_MS + SESSION_CLAIM_MARGIN_MS;
    const now = Date.now();
    let claim: SessionClaim;
    try {
      claim = await this.sessions.claim(ctx.tenantId, this.sessionUser(ctx), {
        now,
        aliveUntil: now + SESSION_EXPIRY_MARGIN_MS,
        holdUntil,
      });
    } catch {
      // The store is unreachable: a session opened now could not be recorded, so none is opened.
      this.count('sessionless');
      return { id: await this.send({ ...base, ...this.connection(ctx) }, ctx), session: null };
    }
    let live = claim.live;
    const reusable = claim.session;
    if (reusable && reusable.tenantId === ctx.tenantId && reusable.dbUser === this.sessionUser(ctx)) {
      try {
        // A session already knows its cluster, database and user: only the statement goes with it.
        const id = await this.send({ ...base, SessionId: reusable.sessionId }, ctx, { raw: true });
        this.count('hits');
        return { id, session: reusable };
      } catch (e) {
        if (!isSessionRefusal(e)) {
          // Throttling, capacity, network: nothing says the session is gone; it stays for the next statement.
          await this.sessions.release(reusable, reusable.expiresAt).catch(() => false);
          throw translateAwsError(e, 'ExecuteStatement');
        }
        await this.sessions.drop(reusable).catch(() => {});
        live--;
        this.count('replaced');
      }
    } else if (reusable) {
      await this.sessions.release(reusable, reusable.expiresAt).catch(() => false);
    }
    this.count('misses');

    const connection = this.connection(ctx);
    const key = `${ctx.tenantId}\u0000${ctx.dbUser}`;
    const opening = this.opening.get(key) ?? 0;
    if (live + opening < this.maxSessionsPerUser) {
      this.opening.set(key, opening + 1);
      try {
        const out = await this.executeRaw(
          { ...base, ...connection, SessionKeepAliveSeconds: keepAlive },
          ctx,
        );
        if (!out.SessionId) return { id: out.Id!, session: null };
        const openedAt = Date.now();
        const session: WarehouseSession = {
          sessionId: out.SessionId,
          tenantId: ctx.tenantId,
          dbUser: this.sessionUser(ctx),
          createdAt: openedAt,
          expiresAt: openedAt + keepAlive * 1000,
        };
        this.count('created');
        // Unrecorded (store unreachable), the session still serves this statement; it then idles out.
        const recorded = await this.sessions.add(session, holdUntil).catch(() => null);
        return { id: out.Id!, session: recorded };
      } catch (e) {
        if (awsErrorName(e) !== 'ActiveSessionsExceededException')
          throw translateAwsError(e, 'ExecuteStatement');
      } finally {
        const left = (this.opening.get(key) ?? 1) - 1;
        if (left > 0) this.opening.set(key, left);
        else this.opening.delete(key);
      }
    }
    this.count('sessionless');
    return { id: await this.send({ ...base, ...connection }, ctx), session: null };
  }

  /** `rsd:<statement id>@<identity>`: any process can tell whose statement it is. */
  private refOf(id: string): StatementRef {
    return `${REF_PREFIX}${id}@${encodeURIComponent(this.identity)}`;
  }

  /**
   * The sessions store's user key: the db user qualified by our identity, so a session is only
   * claimed by the identity that opened it (the Data API refuses anyone else).
   */
  private sessionUser(ctx: ExecutionContext): string {
    return `${ctx.dbUser}@${this.identity}`;
  }

  private count(outcome: SessionOutcome): void {
    this.stats[outcome]++;
    this.opts.onSessionOutcome?.(outcome);
  }

  private async send(input: ExecuteStatementInput, ctx: ExecutionContext, opts: { raw?: boolean } = {}) {
    try {
      return (await this.executeRaw(input, ctx)).Id!;
    } catch (e) {
      if (opts.raw) throw e;
      throw translateAwsError(e, 'ExecuteStatement');
    }
  }

  /** ExecuteStatement; falls back to JSON results for good if the endpoint refuses `ResultFormat: CSV`. */
  private async executeRaw(input: ExecuteStatementInput, ctx: ExecutionContext) {
    try {
      return await this.retried(
        () => this.client.send(new ExecuteStatementCommand(input)),
        isRefusedForLoad,
        ctx.signal,
      );
    } catch (e) {
      if (
        input.ResultFormat === 'CSV' &&
        awsErrorName(e) === 'ValidationException' &&
        /result ?format/i.test((e as Error).message)
      ) {
        this.resultFormat = 'JSON';
        return await this.client.send(new ExecuteStatementCommand({ ...input, ResultFormat: 'JSON' }));
      }
      if (ctx.signal?.aborted) throw new StatementCancelledError();
      throw e;
    }
  }

  /** `call`, sent again while `retryable` says so (RetryOptions), never past `deadline` or an abort. */
  private async retried<T>(
    call: () => Promise<T>,
    retryable: (e: unknown) => boolean,
    signal: AbortSignal | undefined,
    deadline?: number,
  ): Promise<T> {
    const r = this.retry;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (attempt >= r.maxAttempts || signal?.aborted || !retryable(e)) throw e;
        const wait = r.random() * Math.min(r.maxMs, r.baseMs * 2 ** (attempt - 1));
        if (deadline !== undefined && Date.now() + wait >= deadline) throw e;
        await r.sleep(wait, signal);
      }
    }
  }

  private async waitForCompletion(
    id: string,
    ctx: ExecutionContext,
    deadline: number,
  ): Promise<DescribeStatementResponse> {
    let delay = this.polling.initialMs;
    for (;;) {
      if (ctx.signal?.aborted) {
        await this.cancelAndSettle(id);
        throw new StatementCancelledError();
      }
      let d: DescribeStatementResponse;
      try {
        // One failed look at a healthy statement is no reason to cancel it: reads are retried first.
        d = await this.retried(
          () => this.client.send(new DescribeStatementCommand({ Id: id })),
          isTransientRead,
          ctx.signal,
          deadline,
        );
      } catch (e) {
        if (ctx.signal?.aborted) continue;
        await this.cancelAndSettle(id);
        throw translateAwsError(e, 'DescribeStatement');
      }
      if (d.Status === 'FINISHED') return d;
      if (d.Status === 'FAILED') throw statementFailure(d.Error, id);
      if (d.Status === 'ABORTED') throw new StatementCancelledError();
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        await this.cancelAndSettle(id);
        const seconds = Math.round(ctx.timeoutMs / 1000);
        throw new ApiError(
          'QUERY_TIMEOUT',
          `the statement exceeded its timeout of ${seconds}s and was cancelled`,
          {
            timeout_seconds: seconds,
          },
        );
      }
      await sleep(Math.min(delay, remaining), ctx.signal);
      delay = Math.min(delay * this.polling.factor, this.polling.maxMs);
    }
  }

  /** CancelStatement, then a short wait for a final status, so the caller knows the statement is gone. */
  private async cancelAndSettle(id: string): Promise<void> {
    if (!(await this.cancel(this.refOf(id)))) return;
    const until = Date.now() + CANCEL_SETTLE_MS;
    while (Date.now() < until) {
      try {
        const d = await this.client.send(new DescribeStatementCommand({ Id: id }));
        if (FINAL_STATUSES.has(d.Status ?? '')) return;
      } catch {
        return;
      }
      await sleep(CANCEL_SETTLE_POLL_MS, undefined);
    }
  }

  private async readResult(
    id: string,
    description: DescribeStatementResponse,
    ctx: ExecutionContext,
    sink: RowSink,
    onColumns?: (columns: ResultColumn[]) => void,
  ): Promise<Omit<ExecutionResult, 'statementRef'>> {
    if (description.HasResultSet === false) {
      await sink.columns([]);
      return { rowCount: 0, stoppedAtMaxRows: false };
    }
    const csv = (description.ResultFormat ?? this.resultFormat).toUpperCase() === 'CSV';
    const max = ctx.maxRows ?? Number.POSITIVE_INFINITY;
    const maxBytes = ctx.maxResultBytes ?? Number.POSITIVE_INFINITY;
    let bytes = 0;
    let columns: ResultColumn[] | undefined;
    let metadata: ColumnMetadata[] = [];
    let reader: CsvRecordReader | undefined;
    let rowCount = 0;
    let token: string | undefined;
    let firstPage = true;
    for (;;) {
      if (ctx.signal?.aborted) throw new StatementCancelledError();
      const page = await this.fetchPage(id, token, csv, ctx);
      if (!columns) {
        metadata = page.ColumnMetadata ?? [];
        columns = resultColumns(metadata);
        reader = new CsvRecordReader(columns.length);
        onColumns?.(columns);
        await sink.columns(columns.map((c) => c.info));
      }
      token = page.NextToken || undefined;
      let rows: Row[];
      if (csv) {
        const startsAtRecord = reader!.atRecordBoundary;
        const records: CsvField[][] = [];
        for (const chunk of page.csv ?? []) reader!.read(chunk, records);
        if (!token) reader!.finish(records);
        if (startsAtRecord && isHeaderRecord(records, metadata, firstPage && !token, page.TotalNumRows)) {
          records.shift();
        }
        rows = decodeCsvRows(records, columns);
      } else {
        rows = (page.fields ?? []).map((record) => record.map((f, i) => columns![i]!.decodeField(f)));
      }
      firstPage = false;
      // The byte cap stops further pages (a page itself is read whole: the Data API has no smaller unit).
      const fit = rowsWithinBytes(rows, maxBytes - bytes);
      bytes += fit.bytes;
      if (fit.rows < rows.length) {
        rows = rows.slice(0, Math.min(fit.rows, max - rowCount));
        if (rows.length) await sink.rows(rows);
        return { rowCount: rowCount + rows.length, stoppedAtMaxRows: false, stoppedAtMaxBytes: true };
      }
      const room = max - rowCount;
      if (rows.length > room) {
        rows = rows.slice(0, room);
        if (rows.length) await sink.rows(rows);
        return { rowCount: rowCount + rows.length, stoppedAtMaxRows: true };
      }
      if (rows.length) await sink.rows(rows);
      rowCount += rows.length;
      if (!token) return { rowCount, stoppedAtMaxRows: false };
      if (rowCount >= max) return { rowCount, stoppedAtMaxRows: true };
    }
  }

  private async fetchPage(
    id: string,
    token: string | undefined,
    csv: boolean,
    ctx: ExecutionContext,
  ): Promise<{
    ColumnMetadata?: ColumnMetadata[];
    NextToken?: string;
    TotalNumRows?: number;
    csv?: string[];
    fields?: Field[][];
  }> {
    const input = { Id: id, ...(token ? { NextToken: token } : {}) };
    const options = ctx.signal ? { abortSignal: ctx.signal } : {};
    try {
      if (csv) {
        const out = await this.retried(
          () => this.client.send(new GetStatementResultV2Command(input), options),
          isTransientRead,
          ctx.signal,
        );
        return {
          ...pageInfo(out),
          csv: (out.Records ?? []).map((r) => r.CSVRecords ?? ''),
        };
      }
      const out = await this.retried(
        () => this.client.send(new GetStatementResultCommand(input), options),
        isTransientRead,
        ctx.signal,
      );
      return { ...pageInfo(out), fields: out.Records ?? [] };
    } catch (e) {
      if (ctx.signal?.aborted) throw new StatementCancelledError();
      throw translateAwsError(e, csv ? 'GetStatementResultV2' : 'GetStatementResult');
    }
  }
}

/** `rsd:<id>[@<identity>]` → its parts; refs from before identities were recorded have no owner. */
function parseRef(ref: StatementRef): { id: string; owner?: string } | null {
  if (!ref.startsWith(REF_PREFIX)) return null;
  const rest = ref.slice(REF_PREFIX.length);
  const at = rest.indexOf('@');
  if (at < 0) return { id: rest };
  return { id: rest.slice(0, at), owner: decodeURIComponent(rest.slice(at + 1)) };
}

/** Leading rows of `rows` within `budget` bytes, counted like PostgreSQL's wire size of a DataRow. */
function rowsWithinBytes(rows: Row[], budget: number): { rows: number; bytes: number } {
  if (budget === Number.POSITIVE_INFINITY) return { rows: rows.length, bytes: 0 };
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    let size = 7;
    for (const v of rows[i]!) size += 4 + (typeof v === 'string' ? v.length : v === null ? 0 : 8);
    if (bytes + size > budget) return { rows: i, bytes };
    bytes += size;
  }
  return { rows: rows.length, bytes };
}

function pageInfo(out: { ColumnMetadata?: ColumnMetadata[]; NextToken?: string; TotalNumRows?: number }) {
  return {
    ...(out.ColumnMetadata ? { ColumnMetadata: out.ColumnMetadata } : {}),
    ...(out.NextToken ? { NextToken: out.NextToken } : {}),
    ...(out.TotalNumRows !== undefined ? { TotalNumRows: out.TotalNumRows } : {}),
  };
}

/**
 * The API reference does not say whether CSV pages start with a header line. A first record that
 * spells the column names is taken for one, unless the page is the whole result and its record
 * count already equals `TotalNumRows` (a data row that happens to equal the names).
 */
function isHeaderRecord(
  records: CsvField[][],
  metadata: ColumnMetadata[],
  wholeResult: boolean,
  totalRows: number | undefined,
): boolean {
  const first = records[0];
  if (!first || first.length !== metadata.length) return false;
  const spellsNames = first.every(
    (v, i) => v !== null && (v === metadata[i]?.name || v === metadata[i]?.label),
  );
  if (!spellsNames) return false;
  return !(wholeResult && totalRows !== undefined && records.length === totalRows);
}

function decodeCsvRows(records: CsvField[][], columns: ResultColumn[]): Row[] {
  const n = columns.length;
  const decoders = columns.map((c) => c.decodeText);
  for (const record of records) {
    for (let i = 0; i < n; i++) {
      const v = record[i];
      if (v !== null && v !== undefined) (record as unknown[])[i] = decoders[i]!(v);
    }
  }
  return records;
}

/** Decodes UNLOAD's CSV parts (comma, `"`, LF; NULL = unquoted empty field) into rows for a RowSink. */
class UnloadedRows implements CopyOutSink {
  /** Thrown from `data` once `max` rows were delivered: the remaining parts are not read. */
  static readonly FULL = Symbol('max rows delivered');
  count = 0;
  full = false;
  private readonly text = new StringDecoder('utf8');
  private readonly reader: CsvRecordReader;

  constructor(
    private readonly shape: ResultColumn[],
    private readonly sink: RowSink,
    private readonly max: number,
  ) {
    this.reader = new CsvRecordReader(shape.length);
  }

  columns(): void {}

  async data(chunk: Uint8Array): Promise<void> {
    const records: CsvField[][] = [];
    this.reader.read(this.text.write(chunk), records);
    await this.deliver(records);
  }

  async finish(): Promise<void> {
    const records: CsvField[][] = [];
    this.reader.read(this.text.end(), records);
    this.reader.finish(records);
    await this.deliver(records);
  }

  private async deliver(records: CsvField[][]): Promise<void> {
    if (records.length === 0) return;
    let rows = decodeCsvRows(records, this.shape);
    const room = this.max - this.count;
    if (rows.length > room) {
      this.full = true;
      rows = rows.slice(0, room);
    }
    if (rows.length) await this.sink.rows(rows);
    this.count += rows.length;
    if (this.full) throw UnloadedRows.FULL;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
