/**
 * Data API statements and sessions across IAM roles (issue 14, item 5). The API and the worker
 * functions call the Data API as different IAM identities, and AWS lets only the identity that
 * created a statement or session act on it. The fake checks the caller (the SigV4 credential's
 * access key id) as AWS does; here the two adapters sign with different keys and share one
 * sessions store, as the two functions share the StateStore.
 */
import { DescribeStatementCommand, ExecuteStatementCommand } from '@aws-sdk/client-redshift-data';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionContext, Row } from '../../../src/warehouse/port.js';
import {
  createRedshiftDataClient,
  InMemorySessionStore,
  type RedshiftDataWarehouse,
} from '../../../src/warehouse/redshift-data/index.js';
import type { RedshiftDataFake } from '../../fakes/redshift-data-fake.js';
import { adminClient } from '../../helpers/pg-fixture.js';
import {
  dataApiWarehouse,
  startRedshiftDataFake,
  TEST_REDSHIFT_S3_ROLE,
} from '../../helpers/redshift-data.js';
import { testS3Client, uniqueBucket } from '../../helpers/s3-fixture.js';
import { createTenantTable } from '../../helpers/tenant-tables.js';
import { waitFor } from '../../helpers/time.js';
import { tenantContext } from '../../helpers/warehouse-fixture.js';

let fake: RedshiftDataFake;
let s3: S3Client;
let bucket: string;
let api: RedshiftDataWarehouse;
let worker: RedshiftDataWarehouse;

/** An adapter signing as `role` (the fake's caller identity) and calling itself that. */
function as(role: string, sessions: InMemorySessionStore): RedshiftDataWarehouse {
  return dataApiWarehouse(fake, {
    identity: role,
    sessions,
    unload: { s3, bucket, prefix: 'results/', iamRoleArn: TEST_REDSHIFT_S3_ROLE },
    client: createRedshiftDataClient({
      endpoint: fake.url,
      region: 'us-east-1',
      credentials: { accessKeyId: role, secretAccessKey: 'test' },
      maxAttempts: 1,
    }),
  });
}

const ctx = (over: Partial<ExecutionContext> = {}) => tenantContext('acme', 'identities-test', over);

async function rowsOf(wh: RedshiftDataWarehouse, sql: string, c = ctx()): Promise<Row[]> {
  const rows: Row[] = [];
  await wh.execute(c, { sql, params: [] }, { columns: () => {}, rows: (b) => void rows.push(...b) });
  return rows;
}

beforeAll(async () => {
  s3 = testS3Client();
  bucket = await uniqueBucket(s3, 'identities');
  fake = await startRedshiftDataFake({ bulk: { s3 } });
  const shared = new InMemorySessionStore();
  api = as('api-role', shared);
  worker = as('worker-role', shared);
});
afterAll(async () => {
  await api?.close();
  await worker?.close();
  await fake?.stop();
  s3?.destroy();
});

describe('one owner per statement and session', () => {
  it('the fake refuses a session and a statement to any identity but their creator', async () => {
    expect(await rowsOf(api, 'SELECT 1 AS one')).toEqual([[1]]);
    const mine = fake.statementsRun().at(-1)!;
    const intruder = createRedshiftDataClient({
      endpoint: fake.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'intruder-role', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    await expect(intruder.send(new DescribeStatementCommand({ Id: mine.id }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(
      intruder.send(new ExecuteStatementCommand({ Sql: 'SELECT 1', SessionId: mine.sessionId! })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    intruder.destroy();
  });

  it('the worker never reuses a session the API opened: each identity opens and reuses its own', async () => {
    const before = fake.openSessions().length;
    expect(await rowsOf(api, 'SELECT 2 AS two')).toEqual([[2]]);
    expect(await rowsOf(worker, 'SELECT 3 AS three')).toEqual([[3]]);
    expect(await rowsOf(worker, 'SELECT 4 AS four')).toEqual([[4]]);
    const byCaller = (sql: string) => {
      const st = fake.statementsRun().find((s) => s.sql.includes(sql))!;
      return { session: st.sessionId, caller: fake.requests.find((r) => r.input.Sql === st.sql)!.caller };
    };
    const two = byCaller('AS two');
    const three = byCaller('AS three');
    const four = byCaller('AS four');
    expect([two.caller, three.caller, four.caller]).toEqual(['api-role', 'worker-role', 'worker-role']);
    expect(three.session).not.toBe(two.session);
    expect(four.session).toBe(three.session);
    expect(worker.sessionStats).toMatchObject({ replaced: 0, hits: 1 });
    expect(fake.openSessions().length).toBeGreaterThan(before);
  });

  it('the API does not cancel the worker’s statement; the worker cancels it when its job is cancelled', async () => {
    const job = new AbortController();
    let ref = '';
    // The statement waits on a lock the test holds (the stand-in refuses pg_sleep, as Redshift does).
    const gate = await adminClient();
    await gate.query('SELECT pg_advisory_lock(740072)');
    const running = rowsOf(
      worker,
      'SELECT pg_advisory_xact_lock(740072) AS slept',
      ctx({
        signal: job.signal,
        onStatement: (r) => {
          ref = r;
        },
      }),
    ).catch((e) => e);
    await waitFor(() => ref !== '' && fake.statementsRun().some((s) => s.status === 'STARTED'));
    const cancels = () => fake.requests.filter((r) => r.operation === 'CancelStatement');
    const before = cancels().length;
    // The API's cancel: refused here by the ref's owner, without a call AWS would refuse.
    expect(ref).toMatch(/^rsd:[0-9a-f-]+@worker-role$/);
    expect(await api.cancel(ref)).toBe(false);
    expect(cancels().length).toBe(before);
    // The worker hears of the cancelled job (its lease heartbeat) and aborts its own statement.
    job.abort();
    await running;
    await gate.query('SELECT pg_advisory_unlock(740072)');
    await gate.end();
    expect(
      cancels()
        .slice(before)
        .map((r) => r.caller),
    ).toEqual(['worker-role']);
    const id = ref.slice('rsd:'.length).split('@')[0];
    expect(fake.statementsRun().find((s) => s.id === id)!.status).toBe('ABORTED');
  });

  it('a COPY import’s statement ref names its owner like every other: the API does not act on the worker’s import', async () => {
    const t = await createTenantTable('identities', 'id integer NOT NULL, name varchar(12)', 'id');
    try {
      const reported: string[] = [];
      async function* staged() {
        yield Buffer.from('1,,,1,one\n2,,,2,two\n');
      }
      const outcome = await worker.copyIn!(
        ctx({ onStatement: (r) => void reported.push(r) }),
        {
          object: t.name,
          operation: 'insert',
          columns: ['id', 'name'],
          externalId: null,
          tenantId: 'acme',
          delimiter: ',',
        },
        staged(),
        { write: () => {}, close: async () => {} },
      );
      expect(outcome.loaded).toBe(2);
      expect(outcome.statementRef).toMatch(/^rsd:[0-9a-f-]+@worker-role$/);
      expect(reported).toContain(outcome.statementRef);
      const cancels = () => fake.requests.filter((r) => r.operation === 'CancelStatement').length;
      const before = cancels();
      expect(await api.cancel(outcome.statementRef)).toBe(false);
      expect(cancels()).toBe(before);
    } finally {
      await t.drop();
    }
  });
});
