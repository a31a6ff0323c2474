/**
 * A test fake of the Amazon Redshift Data API: an HTTP server on 127.0.0.1 speaking the awsJson1_1
 * protocol (`POST /`, `X-Amz-Target: RedshiftData.<Operation>`) for the operations the adapter
 * uses, backed by a real PostgreSQL. The real AWS SDK talks to it (`endpoint: fake.url`), so
 * request serialisation, error deserialisation and paging are the SDK's own.
 *
 * Behaviour modelled on the API reference:
 * - ExecuteStatement returns at once (status SUBMITTED); the statement then goes PICKED → STARTED →
 *   FINISHED | FAILED | ABORTED. It runs as the request's `DbUser` (or the user its `SecretArn`
 *   names): `BEGIN; SET LOCAL ROLE <user>; <sql>; COMMIT` over a connection of the authenticator.
 * - `:name` placeholders bind `Parameters` (string values; PostgreSQL infers the types). What AWS
 *   refuses before running is refused here with its words: a statement over 100 KB, an empty
 *   `Parameters` array, a name outside [0-9a-zA-Z_]+, a zero-length value (`checkParameters`).
 * - `SessionKeepAliveSeconds` opens a session (one dedicated connection) and returns its
 *   `SessionId`; a statement sent with `SessionId` runs on it, as its user. A session runs one
 *   statement at a time, is closed after `keepAlive` idle seconds, and refuses work when busy or
 *   closed (ValidationException: `Session is not available` once closed or expired, `Session with
 *   Id: … is invalid` for an id never issued). Sent with `SessionId`, connection parameters are refused.
 * - Sessions close `keepAlive` seconds after their last statement ended, and 24 h after they
 *   opened, judged by the fake's clock (`now`); statements and results are gone 24 h after they ended.
 * - Results: `ResultFormat: CSV` → GetStatementResultV2 (`Records[].CSVRecords`, chunks of
 *   `chunkRows` records, NULL as an unquoted empty field, '' as `""`); JSON → GetStatementResult
 *   (typed fields). Pages of `pageRows` rows linked by `NextToken`.
 * - A result over the Data API's caps (`maxResultBytes`, `maxRowBytes`: 100 MB and 64 KB per row)
 *   FAILS the ExecuteStatement statement with the troubleshooting guide's words, as AWS does.
 * - CancelStatement cancels a running statement (status ABORTED); a finished one is a
 *   ValidationException. Errors are `{"__type", "message"}` bodies with the API's status codes.
 * - SQL Redshift refuses (unsupported PostgreSQL functions, types, arrays, jsonb operators, …: the
 *   independent list of redshift-unsupported.ts) FAILS like on Redshift; Redshift-only syntax is
 *   translated to PostgreSQL to run, while `statementsRun()` keeps the text as received.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { initSqlGuard } from '../../src/sql/index.js';
import { replacePlaceholders } from '../../src/sql/placeholders.js';
import {
  type FakeBulkOptions,
  FakeSqlError,
  parseCopy,
  parseUnload,
  runCopy,
  runUnload,
} from './redshift-data-bulk.js';
import { redshiftRefusal, redshiftToPostgres } from './redshift-unsupported.js';

export interface RedshiftDataFakeOptions {
  /** PostgreSQL the statements run on, logged in as the (non-superuser) authenticator. */
  pg: { host: string; port: number; user: string; password: string; database: string };
  clusterIdentifier?: string;
  workgroupName?: string;
  /** The `Database` requests must name (default: the PostgreSQL database). */
  database?: string;
  /** Rows per result page (small, to exercise NextToken). */
  pageRows?: number;
  /** Records per `CSVRecords` chunk within a page. */
  chunkRows?: number;
  /** Start each CSV page with a header line of the column names. */
  csvHeader?: boolean;
  /** SecretArn → database user. Default: the text after the last `/` of the ARN. */
  secretUser?: (arn: string) => string | undefined;
  /** Sessions the "cluster" allows at once (ActiveSessionsExceededException beyond). */
  maxSessions?: number;
  /** Time a statement stays SUBMITTED before it runs. */
  startDelayMs?: number;
  /**
   * The service's clock (epoch ms): session keep-alive expiry and the 24-hour retention of
   * statements and results are judged by it, so a test can move time without waiting.
   */
  now?: () => number;
  /**
   * The Data API's caps on what GetStatementResult can return (data-api-troubleshooting.html): a
   * result set over `maxResultBytes` or a row over `maxRowBytes` fails the statement. Defaults:
   * 100 MB and 64 KB; tests lower them so a result over the cap stays small.
   */
  maxResultBytes?: number;
  maxRowBytes?: number;
  /** The S3 that UNLOAD writes to and COPY reads from (redshift-data-bulk.ts); without it they fail. */
  bulk?: FakeBulkOptions;
  /**
   * The role a batch's CREATE TEMP TABLE runs as (Redshift lets every user create temp tables;
   * the embedded PostgreSQL grants TEMPORARY to this role only). Default `spectra_stager`.
   */
  tempTableOwner?: string;
}

type Status = 'SUBMITTED' | 'PICKED' | 'STARTED' | 'FINISHED' | 'FAILED' | 'ABORTED';

interface FakeSession {
  id: string;
  /** The caller that opened it: only it may run statements on it. */
  owner: string;
  dbUser: string;
  database: string;
  keepAliveSeconds: number;
  createdAt: number;
  client: pg.Client;
  busy: boolean;
  closed: boolean;
  statements: number;
  /** When its last statement ended (the keep-alive counts from here). */
  idleSince: number;
  timer?: NodeJS.Timeout;
}

interface FakeStatement {
  id: string;
  /** The caller that submitted it: only it may describe, read or cancel it. */
  owner: string;
  status: Status;
  error?: string;
  sql: string;
  parameters: { name: string; value: string }[];
  dbUser: string;
  database: string;
  resultFormat: 'CSV' | 'JSON';
  statementName?: string;
  sessionId?: string;
  createdAt: number;
  updatedAt: number;
  startedAt?: number;
  pid?: number;
  cancelRequested: boolean;
  fields?: pg.FieldDef[];
  rows?: (string | null)[][];
  /** Rows a DML or COPY statement touched (DescribeStatement's ResultRows without a result set). */
  affected?: number;
  target: Record<string, string>;
  /** A batch's sub-statements (`<id>:1` …), in order. */
  subStatements?: FakeStatement[];
}

export interface RecordedRequest {
  operation: string;
  input: Record<string, unknown>;
  /** Who called: the access key id of the request's SigV4 credential. */
  caller: string;
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const rawText = { getTypeParser: () => (value: string) => value };
const SESSION_OPTIONS = '-c TimeZone=UTC -c IntervalStyle=iso_8601 -c DateStyle=ISO,MDY -c bytea_output=hex';
const MAX_KEEP_ALIVE_SECONDS = 86_400;
const RESULT_RETENTION_MS = 24 * 3_600_000;

/** PostgreSQL OIDs whose typed (JSON) field is not a string. */
const LONG_OIDS = new Set([20, 21, 23, 26]);
const DOUBLE_OIDS = new Set([700, 701]);
const BOOL_OID = 16;
const BYTEA_OID = 17;
const NUMERIC_OID = 1700;
const CHAR_LENGTH_OIDS = new Set([1042, 1043]);

export class RedshiftDataFake {
  readonly requests: RecordedRequest[] = [];
  private server?: Server;
  private pool?: pg.Pool;
  private stopped = false;
  private typeNames = new Map<number, string>();
  private readonly statements = new Map<string, FakeStatement>();
  private readonly sessionsById = new Map<string, FakeSession>();
  private readonly failures: { operation: string; error: AwsError }[] = [];
  private readonly opts: Required<
    Omit<RedshiftDataFakeOptions, 'clusterIdentifier' | 'workgroupName' | 'bulk' | 'now'>
  > &
    Pick<RedshiftDataFakeOptions, 'clusterIdentifier' | 'workgroupName' | 'bulk'>;
  private readonly now: () => number;
  /** Pauses a batch before a sub-statement whose SQL matches, until `wait()` settles (tests). */
  private batchGate?: { before: RegExp; wait: () => Promise<void> };
  url = '';

  constructor(options: RedshiftDataFakeOptions) {
    this.opts = {
      database: options.pg.database,
      pageRows: 100,
      chunkRows: 40,
      csvHeader: false,
      secretUser: (arn) => arn.split('/').pop(),
      maxSessions: 500,
      startDelayMs: 0,
      maxResultBytes: DATA_API_MAX_RESULT_BYTES,
      maxRowBytes: DATA_API_MAX_ROW_BYTES,
      tempTableOwner: 'spectra_stager',
      ...options,
    };
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<this> {
    await initSqlGuard();
    this.pool = new pg.Pool({ ...this.connection(), max: 8 });
    this.pool.on('error', () => {});
    const types = await this.pool.query('SELECT oid::int AS oid, typname FROM pg_type');
    this.typeNames = new Map(types.rows.map((r) => [r.oid as number, r.typname as string]));
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) =>
        this.reply(res, 500, { __type: 'InternalServerException', message: String(e) }),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    for (const s of this.sessionsById.values()) await this.closeSession(s.id);
    await this.pool?.end();
  }

  /** The next `count` calls of `operation` fail with this AWS error. */
  failNext(operation: string, type: string, message: string, count = 1, status = 400): void {
    for (let i = 0; i < count; i++)
      this.failures.push({ operation, error: new AwsError(type, message, status) });
  }

  /** Holds batches before each sub-statement matching `before` until `wait()` settles; undefined clears it. */
  holdBatches(gate: { before: RegExp; wait: () => Promise<void> } | undefined): void {
    this.batchGate = gate;
  }

  /** Sessions still open (the Data API's ListSessions, roughly). */
  openSessions(): { id: string; dbUser: string; statements: number; busy: boolean }[] {
    return [...this.sessionsById.values()]
      .filter((s) => !s.closed)
      .map((s) => ({ id: s.id, dbUser: s.dbUser, statements: s.statements, busy: s.busy }));
  }

  /** Closes a session as its keep-alive expiry would. */
  async closeSession(id: string): Promise<void> {
    const s = this.sessionsById.get(id);
    if (!s || s.closed) return;
    s.closed = true;
    clearTimeout(s.timer);
    await s.client.end().catch(() => {});
  }

  /** Expires every open session (of `dbUser`, if given) as an idle timeout would; returns their ids. */
  async expireSessions(dbUser?: string): Promise<string[]> {
    const ids = this.openSessions()
      .filter((s) => dbUser === undefined || s.dbUser === dbUser)
      .map((s) => s.id);
    for (const id of ids) await this.closeSession(id);
    return ids;
  }

  statementsRun(): { id: string; status: Status; dbUser: string; sessionId?: string; sql: string }[] {
    return [...this.statements.values()].map((s) => ({
      id: s.id,
      status: s.status,
      dbUser: s.dbUser,
      sql: s.sql,
      ...(s.sessionId ? { sessionId: s.sessionId } : {}),
    }));
  }

  private connection(): pg.ClientConfig {
    const { host, port, user, password, database } = this.opts.pg;
    return {
      host,
      port,
      user,
      password,
      database,
      options: SESSION_OPTIONS,
      application_name: 'redshift-data-fake',
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('RedshiftData.') ? target.slice('RedshiftData.'.length) : '';
    if (req.method !== 'POST' || !operation) {
      this.reply(res, 400, { __type: 'UnknownOperationException', message: `unknown operation ${target}` });
      return;
    }
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      this.reply(res, 400, { __type: 'SerializationException', message: 'malformed JSON body' });
      return;
    }
    const caller = callerOf(req);
    this.requests.push({ operation, input, caller });
    try {
      const failure = this.failures.findIndex((f) => f.operation === operation);
      if (failure >= 0) throw this.failures.splice(failure, 1)[0]!.error;
      const body = await this.dispatch(operation, input, caller);
      if (typeof body === 'string') this.replyRaw(res, 200, body);
      else this.reply(res, 200, body);
    } catch (e) {
      if (e instanceof AwsError) this.reply(res, e.status, { __type: e.type, message: e.message });
      else this.reply(res, 500, { __type: 'InternalServerException', message: String(e) });
    }
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    this.replyRaw(res, status, JSON.stringify(body));
  }

  private replyRaw(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': crypto.randomUUID(),
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  private dispatch(
    operation: string,
    input: Record<string, unknown>,
    caller: string,
  ): Promise<unknown> | unknown {
    switch (operation) {
      case 'ExecuteStatement':
        return this.executeStatement(input, caller);
      case 'BatchExecuteStatement':
        return this.batchExecuteStatement(input, caller);
      case 'DescribeStatement':
        return this.describeStatement(this.statement(input, caller, operation));
      case 'GetStatementResult':
        return this.getResult(this.statement(input, caller, 'GetStatementResult'), input, 'JSON');
      case 'GetStatementResultV2':
        return this.getResult(this.statement(input, caller, 'GetStatementResult'), input, 'CSV');
      case 'CancelStatement':
        return this.cancelStatement(this.statement(input, caller, operation));
      default:
        throw new AwsError('UnknownOperationException', `the fake does not implement ${operation}`);
    }
  }

  private async executeStatement(input: Record<string, unknown>, caller: string): Promise<unknown> {
    const sql = input.Sql;
    if (typeof sql !== 'string' || sql.length === 0) throw validation('Sql is required');
    checkSqlSize(sql);
    const resultFormat = input.ResultFormat === undefined ? 'JSON' : input.ResultFormat;
    if (resultFormat !== 'CSV' && resultFormat !== 'JSON')
      throw validation(`invalid ResultFormat ${resultFormat}`);
    const keepAlive = input.SessionKeepAliveSeconds as number | undefined;
    if (
      keepAlive !== undefined &&
      (!Number.isInteger(keepAlive) || keepAlive < 0 || keepAlive > MAX_KEEP_ALIVE_SECONDS)
    ) {
      throw validation(`SessionKeepAliveSeconds must be between 0 and ${MAX_KEEP_ALIVE_SECONDS}`);
    }
    const parameters = checkParameters(input.Parameters);
    const bound = bindNamed(sql, parameters);
    const [text, values] = [redshiftToPostgres(bound.text), bound.values];

    let session: FakeSession | undefined;
    let dbUser: string;
    let database: string;
    const target: Record<string, string> = {};
    if (input.SessionId !== undefined) {
      const forbidden = ['ClusterIdentifier', 'WorkgroupName', 'Database', 'DbUser', 'SecretArn'].filter(
        (k) => input[k] !== undefined,
      );
      if (forbidden.length) throw validation(`SessionId cannot be combined with ${forbidden.join(', ')}`);
      session = this.sessionsById.get(String(input.SessionId));
      // The real service's wording for the two cases (a reclaimed session, an id it never issued).
      if (!session) throw validation(`Session with Id: ${input.SessionId} is invalid`);
      if (session.owner !== caller) throw notOwner(caller, 'ExecuteStatement', 'session');
      if (!session.closed && !session.busy && this.idleExpired(session)) await this.closeSession(session.id);
      if (session.closed) throw validation('Session is not available');
      if (session.busy)
        throw validation(`Session ${session.id} is busy: a session runs one statement at a time`);
      dbUser = session.dbUser;
      database = session.database;
      if (keepAlive) session.keepAliveSeconds = keepAlive;
    } else {
      ({ dbUser, database } = this.authenticate(input, target));
      if (keepAlive) {
        if (this.openSessions().length >= this.opts.maxSessions) {
          throw new AwsError(
            'ActiveSessionsExceededException',
            'the number of active sessions exceeds the limit',
          );
        }
        const client = new pg.Client(this.connection());
        client.on('error', () => {});
        await client.connect();
        session = {
          id: crypto.randomUUID(),
          owner: caller,
          dbUser,
          database,
          keepAliveSeconds: keepAlive,
          createdAt: this.now(),
          client,
          busy: false,
          closed: false,
          statements: 0,
          idleSince: this.now(),
        };
        this.sessionsById.set(session.id, session);
      }
    }
    const now = this.now();
    const st: FakeStatement = {
      id: crypto.randomUUID(),
      owner: caller,
      status: 'SUBMITTED',
      sql,
      parameters,
      dbUser,
      database,
      resultFormat,
      createdAt: now,
      updatedAt: now,
      cancelRequested: false,
      target,
      ...(typeof input.StatementName === 'string' ? { statementName: input.StatementName } : {}),
      ...(session ? { sessionId: session.id } : {}),
    };
    this.statements.set(st.id, st);
    if (session) {
      session.busy = true;
      session.statements++;
      clearTimeout(session.timer);
    }
    setTimeout(
      () =>
        void this.run(st, text, values, session).catch((e: unknown) => {
          // A run that stop() overtook (its pool ended under it) belongs to a test that is over.
          if (!this.stopped) throw e;
        }),
      this.opts.startDelayMs,
    );
    return {
      Id: st.id,
      CreatedAt: now / 1000,
      Database: database,
      ...target,
      ...(input.SessionId === undefined ? { DbUser: dbUser } : {}),
      ...(session ? { SessionId: session.id } : {}),
    };
  }

  /** The documented auth combinations: secret + database + (cluster | workgroup), or cluster + database + DbUser. */
  private authenticate(input: Record<string, unknown>, target: Record<string, string>) {
    const { clusterIdentifier, workgroupName } = this.opts;
    if (input.ClusterIdentifier !== undefined && input.WorkgroupName !== undefined) {
      throw validation('specify either ClusterIdentifier or WorkgroupName');
    }
    if (input.ClusterIdentifier !== undefined) {
      if (input.ClusterIdentifier !== clusterIdentifier) {
        throw new AwsError('ValidationException', `Cluster ${input.ClusterIdentifier} not found`);
      }
      target.ClusterIdentifier = String(input.ClusterIdentifier);
    } else if (input.WorkgroupName !== undefined) {
      if (input.WorkgroupName !== workgroupName) {
        throw new AwsError('ValidationException', `Workgroup ${input.WorkgroupName} not found`);
      }
      target.WorkgroupName = String(input.WorkgroupName);
    } else throw validation('ClusterIdentifier or WorkgroupName is required');
    if (input.Database !== this.opts.database) throw validation(`Database ${input.Database} does not exist`);
    if (input.DbUser !== undefined && input.SecretArn !== undefined) {
      throw validation('specify either DbUser or SecretArn');
    }
    let dbUser: string | undefined;
    if (input.SecretArn !== undefined) {
      dbUser = this.opts.secretUser(String(input.SecretArn));
      if (!dbUser) throw new AwsError('ValidationException', `Secret ${input.SecretArn} not found`);
      target.SecretArn = String(input.SecretArn);
    } else if (input.DbUser !== undefined) {
      if (target.WorkgroupName) throw validation('DbUser is not supported with a serverless workgroup');
      dbUser = String(input.DbUser);
    } else throw validation('DbUser or SecretArn is required (IAM identities are not modelled)');
    return { dbUser, database: String(input.Database) };
  }

  private async run(st: FakeStatement, text: string, values: string[], session: FakeSession | undefined) {
    // Submitted just before stop(): its start timer fired after the pool ended (the test is over).
    if (this.stopped) return;
    if (st.status !== 'SUBMITTED') return this.finishSession(session);
    st.status = 'PICKED';
    let client: pg.ClientBase;
    let release = () => {};
    /** The connection's transaction could not be ended: it must not serve another statement. */
    let broken = false;
    if (session) client = session.client;
    else {
      const pooled = await this.pool!.connect();
      client = pooled;
      release = () => pooled.release(broken);
    }
    try {
      if (st.cancelRequested) {
        this.settle(st, 'ABORTED');
        return;
      }
      st.status = 'STARTED';
      st.startedAt = this.now();
      st.pid = (client as unknown as { processID: number }).processID;
      const unsupported = redshiftRefusal(st.sql);
      if (unsupported) throw new Error(unsupported);
      await client.query(`BEGIN; SET LOCAL ROLE ${pg.escapeIdentifier(st.dbUser)}`);
      // The statement's name shows in pg_stat_activity, as Redshift shows it in its query history.
      if (st.statementName)
        await client.query("SELECT set_config('application_name', $1, true)", [
          `redshift-data-fake:${st.statementName}`,
        ]);
      const r =
        (await this.runBulk(client, st)) ??
        (await client.query({ text, values, rowMode: 'array', types: rawText as never }));
      await client.query('COMMIT');
      st.fields = r.fields;
      st.rows = r.rows as (string | null)[][];
      const refused = st.fields.length ? this.resultRefusal(st.rows) : undefined;
      if (refused) {
        st.rows = [];
        st.error = refused;
        this.settle(st, 'FAILED');
      } else this.settle(st, 'FINISHED');
    } catch (e) {
      broken = !(await rollBack(client));
      if (broken && session) await this.closeSession(session.id);
      const err = e as { code?: string; message?: string };
      if (st.cancelRequested && err.code === '57014') this.settle(st, 'ABORTED');
      else {
        st.error = `ERROR: ${err.message ?? String(e)}`;
        this.settle(st, 'FAILED');
      }
    } finally {
      release();
      this.finishSession(session);
    }
  }

  /**
   * The Data API caches a result for GetStatementResult only within its caps; the statement ran,
   * but the caller gets the error the troubleshooting guide names instead of rows.
   */
  private resultRefusal(rows: (string | null)[][]): string | undefined {
    let total = 0;
    for (const row of rows) {
      let bytes = 0;
      for (const v of row) if (v !== null) bytes += Buffer.byteLength(v, 'utf8');
      if (bytes > this.opts.maxRowBytes) {
        return `Packet for query is too large: a result row of ${bytes} bytes exceeds the Data API's limit of ${this.opts.maxRowBytes} bytes per row`;
      }
      total += bytes;
      if (total > this.opts.maxResultBytes) {
        return `Database response exceeded size limit: the result set exceeds the Data API's limit of ${this.opts.maxResultBytes} bytes`;
      }
    }
    return undefined;
  }

  /**
   * BatchExecuteStatement: the Sqls run one after another in ONE transaction as the request's user;
   * the first failure rolls all of them back (that sub-statement FAILED, every other one ABORTED).
   * Sub-statements are `<id>:<n>` for DescribeStatement and GetStatementResult. No Parameters and
   * no sessions (not modelled). A CREATE TEMP TABLE runs as `tempTableOwner` (ON COMMIT DROP: a
   * sessionless call's temp tables end with it, as on Redshift) and is granted to the user.
   */
  private batchExecuteStatement(input: Record<string, unknown>, caller: string): unknown {
    const sqls = input.Sqls;
    if (
      !Array.isArray(sqls) ||
      sqls.length === 0 ||
      sqls.length > 40 ||
      !sqls.every((q) => typeof q === 'string' && q)
    )
      throw validation('Sqls must hold 1 to 40 SQL statements');
    for (const q of sqls as string[]) checkSqlSize(q);
    if (input.Parameters !== undefined) throw validation('BatchExecuteStatement does not take Parameters');
    if (input.SessionId !== undefined || input.SessionKeepAliveSeconds !== undefined)
      throw validation('the fake does not model sessions for BatchExecuteStatement');
    const resultFormat = input.ResultFormat === undefined ? 'JSON' : input.ResultFormat;
    if (resultFormat !== 'CSV' && resultFormat !== 'JSON')
      throw validation(`invalid ResultFormat ${resultFormat}`);
    const target: Record<string, string> = {};
    const { dbUser, database } = this.authenticate(input, target);
    const now = this.now();
    const base = {
      owner: caller,
      status: 'SUBMITTED' as Status,
      parameters: [],
      dbUser,
      database,
      resultFormat: resultFormat as 'CSV' | 'JSON',
      createdAt: now,
      updatedAt: now,
      cancelRequested: false,
      target,
    };
    const id = crypto.randomUUID();
    const subs: FakeStatement[] = (sqls as string[]).map((sql, i) => ({
      ...base,
      id: `${id}:${i + 1}`,
      sql,
    }));
    const st: FakeStatement = {
      ...base,
      id,
      sql: (sqls as string[]).join('; '),
      subStatements: subs,
      ...(typeof input.StatementName === 'string' ? { statementName: input.StatementName } : {}),
    };
    this.statements.set(id, st);
    for (const sub of subs) this.statements.set(sub.id, sub);
    setTimeout(() => void this.runBatch(st), this.opts.startDelayMs);
    return { Id: id, CreatedAt: now / 1000, Database: database, DbUser: dbUser, ...target };
  }

  private async runBatch(st: FakeStatement): Promise<void> {
    const subs = st.subStatements!;
    if (st.status !== 'SUBMITTED') return;
    st.status = 'PICKED';
    const client = await this.pool!.connect();
    let broken = false;
    let current: FakeStatement | undefined;
    try {
      if (st.cancelRequested) throw Object.assign(new Error('cancelled'), { code: '57014' });
      st.status = 'STARTED';
      st.startedAt = this.now();
      st.pid = (client as unknown as { processID: number }).processID;
      const user = pg.escapeIdentifier(st.dbUser);
      await client.query(`BEGIN; SET LOCAL ROLE ${user}`);
      if (st.statementName)
        await client.query("SELECT set_config('application_name', $1, true)", [
          `redshift-data-fake:${st.statementName}`,
        ]);
      for (const sub of subs) {
        if (this.batchGate?.before.test(sub.sql)) await this.batchGate.wait();
        if (st.cancelRequested)
          throw Object.assign(new Error('canceling statement due to user request'), { code: '57014' });
        current = sub;
        sub.status = 'STARTED';
        sub.startedAt = this.now();
        const temp = /^\s*CREATE\s+TEMP(?:ORARY)?\s+TABLE\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)/i.exec(
          sub.sql,
        );
        let r: { fields: pg.FieldDef[]; rows: unknown[]; rowCount?: number | null };
        if (temp) {
          await client.query(`SET LOCAL ROLE ${pg.escapeIdentifier(this.opts.tempTableOwner)}`);
          await client.query(`${sub.sql.replace(/;\s*$/, '')} ON COMMIT DROP`);
          await client.query(
            `GRANT SELECT, INSERT, UPDATE, DELETE ON ${temp[1]} TO ${user}; SET LOCAL ROLE ${user}`,
          );
          r = { fields: [], rows: [], rowCount: 0 };
        } else {
          const bulk = await this.runBulk(client, sub);
          r = bulk ?? (await client.query({ text: sub.sql, rowMode: 'array', types: rawText as never }));
        }
        sub.fields = r.fields;
        sub.rows = r.rows as (string | null)[][];
        sub.affected = r.rowCount ?? 0;
        current = undefined;
        this.settle(sub, 'FINISHED');
      }
      await client.query('COMMIT');
      this.settle(st, 'FINISHED');
    } catch (e) {
      broken = !(await rollBack(client));
      const err = e as { code?: string; message?: string };
      const cancelled = st.cancelRequested && err.code === '57014';
      if (current) {
        current.error = `ERROR: ${err.message ?? String(e)}`;
        this.settle(current, cancelled ? 'ABORTED' : 'FAILED');
      }
      for (const sub of subs) if (sub.status !== 'FAILED') this.settle(sub, 'ABORTED');
      if (cancelled) this.settle(st, 'ABORTED');
      else {
        st.error = `ERROR: ${err.message ?? String(e)}`;
        this.settle(st, 'FAILED');
      }
    } finally {
      client.release(broken);
    }
  }

  /** UNLOAD and COPY from S3 (redshift-data-bulk.ts); null for any other statement. A syntax error fails the statement. */
  private async runBulk(
    client: pg.ClientBase,
    st: FakeStatement,
  ): Promise<{ fields: pg.FieldDef[]; rows: []; rowCount?: number } | null> {
    const unload = parseUnload(st.sql);
    const copy = unload ? null : parseCopy(st.sql);
    if (!unload && !copy) return null;
    if (st.parameters.length) throw new FakeSqlError('UNLOAD and COPY take no parameters');
    if (!this.opts.bulk)
      throw new FakeSqlError('S3 is not reachable from this cluster (the fake has no bulk.s3)');
    if (unload) await runUnload(client, unload, this.opts.bulk);
    else return { fields: [], rows: [], rowCount: await runCopy(client, copy!, this.opts.bulk) };
    return { fields: [], rows: [] };
  }

  private settle(st: FakeStatement, status: Status): void {
    st.status = status;
    st.updatedAt = this.now();
  }

  /** Idle past its keep-alive, or 24 hours old: the Data API has closed it. */
  private idleExpired(session: FakeSession): boolean {
    const now = this.now();
    return (
      now >= session.idleSince + session.keepAliveSeconds * 1000 ||
      now >= session.createdAt + MAX_KEEP_ALIVE_SECONDS * 1000
    );
  }

  private finishSession(session: FakeSession | undefined): void {
    if (!session || session.closed) return;
    session.busy = false;
    session.idleSince = this.now();
    const idleMs = Math.min(
      session.keepAliveSeconds * 1000,
      session.createdAt + MAX_KEEP_ALIVE_SECONDS * 1000 - this.now(),
    );
    session.timer = setTimeout(() => void this.closeSession(session.id), Math.max(0, idleMs));
    session.timer.unref();
  }

  private statement(input: Record<string, unknown>, caller: string, action: string): FakeStatement {
    const st = this.statements.get(String(input.Id));
    if (st && st.owner !== caller) throw notOwner(caller, action, 'statement');
    // The Data API keeps a statement and its result 24 h (data-api.html; NOTES.md), then forgets both.
    const final = st && (st.status === 'FINISHED' || st.status === 'FAILED' || st.status === 'ABORTED');
    if (!st || (final && this.now() - st.updatedAt > RESULT_RETENTION_MS)) {
      throw new AwsError('ResourceNotFoundException', `Query ${input.Id} does not exist.`);
    }
    return st;
  }

  private describeStatement(st: FakeStatement): unknown {
    const finished = st.status === 'FINISHED';
    return {
      Id: st.id,
      Status: st.status,
      ...(st.error ? { Error: st.error } : {}),
      CreatedAt: st.createdAt / 1000,
      UpdatedAt: st.updatedAt / 1000,
      Duration: st.startedAt ? (st.updatedAt - st.startedAt) * 1e6 : -1,
      HasResultSet: finished ? st.fields !== undefined && st.fields.length > 0 : false,
      ResultRows: finished
        ? st.fields?.length
          ? (st.rows?.length ?? 0)
          : (st.affected ?? st.rows?.length ?? 0)
        : -1,
      ResultSize: -1,
      QueryString: st.sql,
      Database: st.database,
      DbUser: st.dbUser,
      ResultFormat: st.resultFormat,
      ...(st.pid ? { RedshiftPid: st.pid } : {}),
      ...(st.parameters.length ? { QueryParameters: st.parameters } : {}),
      ...(st.sessionId ? { SessionId: st.sessionId } : {}),
      ...(st.subStatements
        ? {
            SubStatements: st.subStatements.map((sub) => ({
              Id: sub.id,
              Status: sub.status,
              ...(sub.error ? { Error: sub.error } : {}),
              CreatedAt: sub.createdAt / 1000,
              UpdatedAt: sub.updatedAt / 1000,
              Duration: sub.startedAt ? (sub.updatedAt - sub.startedAt) * 1e6 : -1,
              QueryString: sub.sql,
              HasResultSet: sub.status === 'FINISHED' && (sub.fields?.length ?? 0) > 0,
              ResultRows:
                sub.status === 'FINISHED'
                  ? sub.fields?.length
                    ? (sub.rows?.length ?? 0)
                    : (sub.affected ?? 0)
                  : -1,
              ResultSize: -1,
            })),
            HasResultSet: finished && st.subStatements.some((sub) => (sub.fields?.length ?? 0) > 0),
          }
        : {}),
      ...st.target,
    };
  }

  private async cancelStatement(st: FakeStatement): Promise<unknown> {
    if (st.status === 'FINISHED' || st.status === 'FAILED' || st.status === 'ABORTED') {
      throw validation(`Could not cancel a query that is already in ${st.status} state.`);
    }
    st.cancelRequested = true;
    if (st.status === 'SUBMITTED') this.settle(st, 'ABORTED');
    else if (st.status === 'STARTED' && st.pid) void this.cancelUntilSettled(st);
    return { Status: true };
  }

  /** A cancel that lands between the statement's own queries is lost: repeat it until it settles, as Redshift does. */
  private async cancelUntilSettled(st: FakeStatement): Promise<void> {
    while (st.status === 'STARTED' && !this.stopped) {
      await this.pool!.query('SELECT pg_cancel_backend($1)', [st.pid]).catch(() => {});
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private getResult(
    st: FakeStatement,
    input: Record<string, unknown>,
    format: 'CSV' | 'JSON',
  ): string | unknown {
    if (st.status !== 'FINISHED') {
      throw new AwsError(
        'ResourceNotFoundException',
        'Query does not have result. Please check query status with DescribeStatement API.',
      );
    }
    if (st.resultFormat !== format) {
      throw validation(
        format === 'CSV'
          ? 'GetStatementResultV2 returns CSV results only: the statement ran with ResultFormat JSON'
          : 'GetStatementResult returns JSON results only: the statement ran with ResultFormat CSV',
      );
    }
    const rows = st.rows ?? [];
    let offset = 0;
    if (input.NextToken !== undefined) {
      const token = decodeToken(String(input.NextToken));
      if (!token || token.id !== st.id) throw validation('invalid NextToken');
      offset = token.offset;
    }
    const page = rows.slice(offset, offset + this.opts.pageRows);
    const next = offset + page.length < rows.length ? encodeToken(st.id, offset + page.length) : undefined;
    const metadata = (st.fields ?? []).map((f) => this.columnMetadata(f));
    const common = {
      ColumnMetadata: metadata,
      TotalNumRows: rows.length,
      ...(next ? { NextToken: next } : {}),
    };
    if (format === 'CSV') {
      const records: { CSVRecords: string }[] = [];
      for (let i = 0; i < page.length || (i === 0 && this.opts.csvHeader); i += this.opts.chunkRows) {
        let text =
          i === 0 && this.opts.csvHeader
            ? `${metadata.map((m) => csvField(m.name as string)).join(',')}\n`
            : '';
        for (const row of page.slice(i, i + this.opts.chunkRows)) text += `${row.map(csvField).join(',')}\n`;
        records.push({ CSVRecords: text });
      }
      return { ...common, Records: records, ResultFormat: 'CSV' };
    }
    // Built as text: BIGINT literals must reach the client digit for digit, as the real service sends them.
    const fields = st.fields ?? [];
    const recordsJson = page
      .map((row) => `[${row.map((v, i) => typedField(v, fields[i]!.dataTypeID)).join(',')}]`)
      .join(',');
    const head = JSON.stringify(common);
    return `${head.slice(0, -1)},"Records":[${recordsJson}]}`;
  }

  private columnMetadata(f: pg.FieldDef): Record<string, unknown> {
    const typeName = this.typeNames.get(f.dataTypeID) ?? 'unknown';
    const elementOid = typeName.startsWith('_') ? undefined : f.dataTypeID;
    let precision = 0;
    let scale = 0;
    const mod = f.dataTypeModifier;
    if (mod >= 4) {
      const base = elementOid ?? this.elementOf(typeName);
      if (base === NUMERIC_OID) {
        precision = ((mod - 4) >> 16) & 0xffff;
        scale = ((((mod - 4) & 0x7ff) ^ 1024) - 1024) as number;
      } else if (base !== undefined && CHAR_LENGTH_OIDS.has(base)) precision = mod - 4;
    }
    return {
      name: f.name,
      label: f.name,
      typeName,
      precision,
      scale,
      length: 0,
      nullable: 1,
      isCaseSensitive: true,
      isCurrency: false,
      isSigned: LONG_OIDS.has(f.dataTypeID) || DOUBLE_OIDS.has(f.dataTypeID) || f.dataTypeID === NUMERIC_OID,
      schemaName: '',
      tableName: '',
    };
  }

  private elementOf(arrayTypeName: string): number | undefined {
    const name = arrayTypeName.slice(1);
    for (const [oid, n] of this.typeNames) if (n === name) return oid;
    return undefined;
  }
}

const validation = (message: string) => new AwsError('ValidationException', message);

/**
 * The caller's identity: the access key id in the SigV4 `Authorization` header's Credential
 * (tests give each role its own key), or `anonymous` for an unsigned request.
 */
function callerOf(req: IncomingMessage): string {
  const auth = String(req.headers.authorization ?? '');
  return /Credential=([^/,\s]+)\//.exec(auth)?.[1] ?? 'anonymous';
}

/**
 * Ends a failed statement's transaction; false when it could not be ended. A connection whose
 * transaction stays aborted must not go back to the pool: the next statement on it would fail with
 * "current transaction is aborted". Tried twice (a cancel that `cancelUntilSettled` repeats until
 * the statement settles could land on the first ROLLBACK); if both fail, the connection is closed.
 */
async function rollBack(client: pg.ClientBase): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await client.query('ROLLBACK');
      return true;
    } catch {}
  }
  return false;
}

/**
 * Statements and sessions belong to the IAM identity that created them
 * (redshift-data:statement-owner-iam-userid / session-owner-iam-userid in the Service
 * Authorization Reference); another identity is refused as IAM refuses it.
 */
function notOwner(caller: string, action: string, what: 'statement' | 'session'): AwsError {
  return new AwsError(
    'AccessDeniedException',
    `User: ${caller} is not authorized to perform: redshift-data:${action} on this ${what}: it is owned by another identity (redshift-data:${what}-owner-iam-userid)`,
  );
}

/**
 * https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-troubleshooting.html: "The Data API
 * size limit is 64 KB per row in the result set"; the result-set limit is 100 MB on the
 * translated pages and in NOTES.md, 500 MB on the current English page: the fake keeps the lower.
 */
export const DATA_API_MAX_RESULT_BYTES = 100 * 1024 * 1024;
export const DATA_API_MAX_ROW_BYTES = 64 * 1024;

/** "The maximum query statement size is 100 KB": https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html */
export const MAX_SQL_BYTES = 100_000;
const PARAMETER_NAME = /^[0-9a-zA-Z_]+$/;

function checkSqlSize(sql: string): void {
  // The service's wording (a ValidationException before the statement is accepted).
  if (Buffer.byteLength(sql, 'utf8') > MAX_SQL_BYTES)
    throw validation('Cannot process query string larger than 100kB');
}

/**
 * The documented shape of `Parameters`, refused as AWS refuses it:
 * https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html (an array
 * of at least 1 item) and https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_SqlParameter.html
 * (name pattern [0-9a-zA-Z_]+, value a string of length >= 1). AWS documents no maximum count.
 */
function checkParameters(raw: unknown): { name: string; value: string }[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length === 0) {
    throw validation(
      "1 validation error detected: Value '[]' at 'parameters' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  }
  raw.forEach((p: { name?: unknown; value?: unknown }, i) => {
    if (typeof p?.name !== 'string' || !PARAMETER_NAME.test(p.name)) {
      throw validation(
        `1 validation error detected: Value '${String(p?.name)}' at 'parameters.${i + 1}.member.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-zA-Z_]+`,
      );
    }
    if (typeof p.value !== 'string') throw validation(`parameter ${p.name} must have a string value`);
    if (p.value.length === 0) throw validation("You can't set a zero length value");
  });
  return raw as { name: string; value: string }[];
}

/** `:name` → `$n` with the tokenizer the guard uses, values in `$n` order. */
function bindNamed(
  sql: string,
  parameters: { name: string; value: string }[],
): { text: string; values: string[] } {
  let scan: ReturnType<typeof replacePlaceholders>;
  try {
    scan = replacePlaceholders(sql);
  } catch (e) {
    throw validation(`could not read the SQL parameters: ${(e as Error).message}`);
  }
  const byName = new Map(parameters.map((p) => [p.name, p.value]));
  for (const p of parameters) {
    if (typeof p.value !== 'string') throw validation(`parameter ${p.name} must have a string value`);
    if (!scan.paramNames.includes(p.name)) throw validation(`parameter ${p.name} is not used in the SQL`);
  }
  const values = scan.paramNames.map((name) => {
    const v = byName.get(name);
    if (v === undefined) throw validation(`no value for parameter ${name}`);
    return v;
  });
  return { text: scan.text, values };
}

function csvField(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (value === '') return '""';
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function typedField(value: string | null, oid: number): string {
  if (value === null) return '{"isNull":true}';
  if (LONG_OIDS.has(oid)) return `{"longValue":${value}}`;
  if (DOUBLE_OIDS.has(oid)) {
    return Number.isFinite(Number(value))
      ? `{"doubleValue":${value}}`
      : `{"doubleValue":${JSON.stringify(value)}}`;
  }
  if (oid === BOOL_OID) return `{"booleanValue":${value === 't'}}`;
  if (oid === BYTEA_OID) return `{"blobValue":"${Buffer.from(value.slice(2), 'hex').toString('base64')}"}`;
  return `{"stringValue":${JSON.stringify(value)}}`;
}

function encodeToken(id: string, offset: number): string {
  return Buffer.from(JSON.stringify({ id, offset })).toString('base64');
}

function decodeToken(token: string): { id: string; offset: number } | null {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    return typeof t.id === 'string' && Number.isInteger(t.offset) ? t : null;
  } catch {
    return null;
  }
}
