/**
 * What the Data API adapter sends, as the real SDK serialises it (requests captured by a stub
 * HTTP handler, answered with canned responses), and how Data API failures map to API errors.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import type { ColumnInfo, Row, RowSink } from '../../../src/warehouse/port.js';
import { translateAwsError } from '../../../src/warehouse/redshift-data/errors.js';
import {
  createRedshiftDataClient,
  RedshiftDataWarehouse,
  type RedshiftDataWarehouseOptions,
} from '../../../src/warehouse/redshift-data/index.js';

interface Captured {
  target: string;
  body: Record<string, unknown>;
}

type Responder = (target: string, body: Record<string, unknown>) => { status?: number; body: unknown };

/** A Data API client whose HTTP layer is a function: no sockets. */
function stubClient(respond: Responder) {
  const captured: Captured[] = [];
  const client = createRedshiftDataClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: { headers: Record<string, string>; body?: Uint8Array | string }) => {
        const target = (request.headers['x-amz-target'] ?? '').replace('RedshiftData.', '');
        const raw = request.body;
        const body = JSON.parse(typeof raw === 'string' ? raw : raw ? new TextDecoder().decode(raw) : '{}');
        captured.push({ target, body });
        const reply = respond(target, body);
        return {
          response: {
            statusCode: reply.status ?? 200,
            headers: { 'content-type': 'application/x-amz-json-1.1' },
            body: Readable.from([Buffer.from(JSON.stringify(reply.body))]),
          },
        };
      },
    } as never,
  });
  return { client, captured };
}

/** Answers like a Data API whose statements finish at once with one INTEGER column `n`, value 1. */
function finishingApi(sessionId = 'sess-1'): Responder {
  let n = 0;
  return (target, body) => {
    switch (target) {
      case 'ExecuteStatement':
        return {
          body: {
            Id: `00000000-0000-0000-0000-00000000000${++n}`,
            ...(body.SessionKeepAliveSeconds || body.SessionId ? { SessionId: sessionId } : {}),
          },
        };
      case 'DescribeStatement':
        return { body: { Id: body.Id, Status: 'FINISHED', HasResultSet: true, ResultFormat: 'CSV' } };
      case 'GetStatementResultV2':
        return {
          body: {
            ColumnMetadata: [{ name: 'n', typeName: 'int4' }],
            Records: [{ CSVRecords: '1\n' }],
            TotalNumRows: 1,
            ResultFormat: 'CSV',
          },
        };
      default:
        return { status: 400, body: { __type: 'ValidationException', message: `unexpected ${target}` } };
    }
  };
}

const sink = (): RowSink & { rows_: Row[]; cols: ColumnInfo[] } => {
  const s = {
    rows_: [] as Row[],
    cols: [] as ColumnInfo[],
    columns(c: ColumnInfo[]) {
      s.cols = c;
    },
    rows(b: Row[]) {
      s.rows_.push(...b);
    },
  };
  return s;
};

const ctx = { tenantId: 'acme', dbUser: 'tenant_acme', timeoutMs: 5000, label: 'job-abc123' };

function warehouse(respond: Responder, options: Partial<RedshiftDataWarehouseOptions> = {}) {
  const { client, captured } = stubClient(respond);
  const w = new RedshiftDataWarehouse({
    client,
    target: { clusterIdentifier: 'analytics' },
    database: 'dev',
    auth: { kind: 'db-user' },
    sessionKeepAliveSeconds: 300,
    polling: { initialMs: 1, maxMs: 1 },
    ...options,
  });
  return { w, captured };
}

describe('Data API requests', () => {
  it('first statement of a tenant: cluster, database, DbUser, keep-alive, CSV, named parameters, label', async () => {
    const { w, captured } = warehouse(finishingApi());
    await w.execute(ctx, { sql: 'SELECT $1 AS a, $2 AS b WHERE $1 IS NOT NULL', params: ['x', 2] }, sink());
    const execute = captured.find((c) => c.target === 'ExecuteStatement')!.body;
    expect(execute).toMatchObject({
      Sql: 'SELECT :p1 AS a, :p2 AS b WHERE :p1 IS NOT NULL',
      Parameters: [
        { name: 'p1', value: 'x' },
        { name: 'p2', value: '2' },
      ],
      ClusterIdentifier: 'analytics',
      Database: 'dev',
      DbUser: 'tenant_acme',
      SessionKeepAliveSeconds: 300,
      ResultFormat: 'CSV',
      StatementName: 'job-abc123',
    });
    expect(execute.ClientToken).toEqual(expect.any(String));
    expect(execute).not.toHaveProperty('SecretArn');
    expect(captured.map((c) => c.target)).toEqual([
      'ExecuteStatement',
      'DescribeStatement',
      'GetStatementResultV2',
    ]);
  });

  it('a reused session carries only the statement: no cluster, database or user', async () => {
    const { w, captured } = warehouse(finishingApi());
    await w.execute(ctx, { sql: 'SELECT 1', params: [] }, sink());
    await w.execute(ctx, { sql: 'SELECT 2', params: [] }, sink());
    const second = captured.filter((c) => c.target === 'ExecuteStatement')[1]!.body;
    expect(second).toMatchObject({ Sql: 'SELECT 2', SessionId: 'sess-1', ResultFormat: 'CSV' });
    for (const key of [
      'ClusterIdentifier',
      'WorkgroupName',
      'Database',
      'DbUser',
      'SecretArn',
      'SessionKeepAliveSeconds',
    ]) {
      expect(second).not.toHaveProperty(key);
    }
    expect(w.sessionStats).toMatchObject({ hits: 1, misses: 1, created: 1 });
  });

  it('another tenant never gets the first tenant’s session', async () => {
    const { w, captured } = warehouse(finishingApi());
    await w.execute(ctx, { sql: 'SELECT 1', params: [] }, sink());
    await w.execute(
      { ...ctx, tenantId: 'globex', dbUser: 'tenant_globex' },
      { sql: 'SELECT 1', params: [] },
      sink(),
    );
    const second = captured.filter((c) => c.target === 'ExecuteStatement')[1]!.body;
    expect(second).not.toHaveProperty('SessionId');
    expect(second).toMatchObject({ DbUser: 'tenant_globex', SessionKeepAliveSeconds: 300 });
  });

  it('per-tenant secret: SecretArn from the template, never together with DbUser; serverless workgroup', async () => {
    const { w, captured } = warehouse(finishingApi(), {
      target: { workgroupName: 'wg' },
      auth: {
        kind: 'secret',
        secretArnTemplate: 'arn:aws:secretsmanager:eu-west-1:1:secret:spectra/{db_user}',
      },
      sessionKeepAliveSeconds: 0,
      resultFormat: 'JSON',
    });
    await w.execute(ctx, { sql: 'SELECT 1', params: [] }, sink()).catch(() => {});
    const execute = captured.find((c) => c.target === 'ExecuteStatement')!.body;
    expect(execute).toMatchObject({
      WorkgroupName: 'wg',
      Database: 'dev',
      SecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:spectra/tenant_acme',
      ResultFormat: 'JSON',
    });
    expect(execute).not.toHaveProperty('DbUser');
    expect(execute).not.toHaveProperty('SessionKeepAliveSeconds');
  });

  it('refuses configurations that would run every tenant as one user', () => {
    const { client } = stubClient(finishingApi());
    const base = { client, database: 'dev', sessionKeepAliveSeconds: 0 };
    expect(
      () =>
        new RedshiftDataWarehouse({ ...base, target: { workgroupName: 'wg' }, auth: { kind: 'db-user' } }),
    ).toThrow(/serverless/i);
    expect(
      () =>
        new RedshiftDataWarehouse({
          ...base,
          target: { clusterIdentifier: 'c' },
          auth: { kind: 'secret', secretArnTemplate: 'arn:aws:secretsmanager:eu-west-1:1:secret:shared' },
        }),
    ).toThrow(/\{tenant\}/);
  });

  it('a null parameter is inlined as NULL and not sent', async () => {
    const { w, captured } = warehouse(finishingApi());
    await w.execute(ctx, { sql: 'SELECT $1 AS a, $2 AS b', params: [null, 'y'] }, sink());
    const execute = captured.find((c) => c.target === 'ExecuteStatement')!.body;
    expect(execute.Sql).toBe('SELECT NULL AS a, :p2 AS b');
    expect(execute.Parameters).toEqual([{ name: 'p2', value: 'y' }]);
  });

  it('cancel(ref) sends CancelStatement with the statement id', async () => {
    const { w, captured } = warehouse((target) =>
      target === 'CancelStatement' ? { body: { Status: true } } : { status: 400, body: {} },
    );
    expect(await w.cancel('rsd:11111111-2222-3333-4444-555555555555')).toBe(true);
    expect(captured).toEqual([
      { target: 'CancelStatement', body: { Id: '11111111-2222-3333-4444-555555555555' } },
    ]);
    expect(await w.cancel('pg:1:x')).toBe(false);
  });
});

describe('Data API errors → API errors', () => {
  const aws = (name: string, message = 'm', extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 }, ...extra });

  it.each([
    ['ThrottlingException', 'RATE_LIMITED', 429, 2],
    ['ActiveStatementsExceededException', 'WAREHOUSE_UNAVAILABLE', 503, 5],
    ['ActiveSessionsExceededException', 'WAREHOUSE_UNAVAILABLE', 503, 5],
    ['DatabaseConnectionException', 'WAREHOUSE_UNAVAILABLE', 503, 5],
    ['InternalServerException', 'WAREHOUSE_UNAVAILABLE', 503, 5],
    ['AccessDeniedException', 'WAREHOUSE_UNAVAILABLE', 503, 5],
    ['QueryTimeoutException', 'QUERY_TIMEOUT', 504, undefined],
    ['ValidationException', 'QUERY_FAILED', 422, undefined],
  ])('%s → %s (%i, Retry-After %s)', (name, code, status, retry) => {
    const e = translateAwsError(aws(name), 'ExecuteStatement');
    expect(e).toBeInstanceOf(ApiError);
    expect([e.code, e.status, e.retryAfterSeconds]).toEqual([code, status, retry]);
    expect(e.details).toMatchObject({ operation: 'ExecuteStatement', cause: name });
  });

  it('a socket error (nothing listening) → WAREHOUSE_UNAVAILABLE with a retry hint', () => {
    const e = translateAwsError(
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      'X',
    );
    expect([e.code, e.retryAfterSeconds]).toEqual(['WAREHOUSE_UNAVAILABLE', 5]);
  });

  it('a FAILED statement → QUERY_FAILED with the warehouse message, without its ERROR: prefix', async () => {
    const { w } = warehouse((target, body) => {
      if (target === 'ExecuteStatement') return { body: { Id: '00000000-0000-0000-0000-000000000009' } };
      if (target === 'DescribeStatement')
        return { body: { Id: body.Id, Status: 'FAILED', Error: 'ERROR: relation "nope" does not exist' } };
      return { status: 400, body: { __type: 'ValidationException', message: 'no' } };
    });
    const e = await w.execute(ctx, { sql: 'SELECT 1', params: [] }, sink()).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect([e.code, e.message]).toEqual(['QUERY_FAILED', 'relation "nope" does not exist']);
  });

  it('throttling on ExecuteStatement → 429 RATE_LIMITED for the caller', async () => {
    const { w } = warehouse(() => ({
      status: 400,
      body: { __type: 'ThrottlingException', message: 'Rate exceeded' },
    }));
    const e = await w.execute(ctx, { sql: 'SELECT 1', params: [] }, sink()).catch((x) => x);
    expect([e.code, e.status, e.retryAfterSeconds]).toEqual(['RATE_LIMITED', 429, 2]);
  });
});
