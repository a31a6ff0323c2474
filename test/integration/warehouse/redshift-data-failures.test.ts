/**
 * The failure modes of the Data API that matter in production (issue 14, item 6), on the fake:
 * throttling and capacity refusals are retried with jittered backoff (random and sleep injected,
 * so nothing waits), a failed DescribeStatement does not cancel a healthy statement, sessions
 * close after their keep-alive and statements are forgotten after 24 hours (the fake's clock).
 */
import { DescribeStatementCommand, GetStatementResultV2Command } from '@aws-sdk/client-redshift-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import type { ExecutionContext, Row } from '../../../src/warehouse/port.js';
import type { RetryOptions } from '../../../src/warehouse/redshift-data/index.js';
import type { RedshiftDataFake } from '../../fakes/redshift-data-fake.js';
import { dataApiWarehouse, startRedshiftDataFake, testDataApiClient } from '../../helpers/redshift-data.js';
import { tenantContext } from '../../helpers/warehouse-fixture.js';

let fake: RedshiftDataFake;
let clockMs = Date.now();

const ctx = (over: Partial<ExecutionContext> = {}) => tenantContext('acme', 'failures-test', over);

/** Retries that record their waits and return at once; jitter fixed at one half. */
function recordedRetry(over: Partial<RetryOptions> = {}) {
  const waits: number[] = [];
  const retry: Partial<RetryOptions> = {
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...over,
  };
  return { waits, retry };
}

async function rowsOf(wh: ReturnType<typeof dataApiWarehouse>, sql: string, c = ctx()): Promise<Row[]> {
  const rows: Row[] = [];
  await wh.execute(c, { sql, params: [] }, { columns: () => {}, rows: (b) => void rows.push(...b) });
  return rows;
}

const count = (operation: string) => fake.requests.filter((r) => r.operation === operation).length;

beforeAll(async () => {
  fake = await startRedshiftDataFake({ now: () => clockMs });
});
afterAll(async () => {
  await fake?.stop();
});

describe('throttling and capacity refusals', () => {
  it('ThrottlingException on ExecuteStatement is retried with full-jitter backoff', async () => {
    const { waits, retry } = recordedRetry();
    const wh = dataApiWarehouse(fake, { retry, sessionKeepAliveSeconds: 0 });
    fake.failNext('ExecuteStatement', 'ThrottlingException', 'Rate exceeded', 3);
    expect(await rowsOf(wh, 'SELECT 1 AS one')).toEqual([[1]]);
    // half of 100, 200, 400 ms
    expect(waits).toEqual([50, 100, 200]);
    await wh.close();
  });

  it('ActiveStatementsExceededException is retried, not surfaced', async () => {
    const { waits, retry } = recordedRetry();
    const wh = dataApiWarehouse(fake, { retry, sessionKeepAliveSeconds: 0 });
    fake.failNext('ExecuteStatement', 'ActiveStatementsExceededException', 'too many active statements', 2);
    expect(await rowsOf(wh, 'SELECT 2 AS two')).toEqual([[2]]);
    expect(waits).toEqual([50, 100]);
    await wh.close();
  });

  it('the backoff is capped and the attempts are bounded: then RATE_LIMITED with Retry-After', async () => {
    const { waits, retry } = recordedRetry({ maxAttempts: 4, maxMs: 250, random: () => 0.999 });
    const wh = dataApiWarehouse(fake, { retry, sessionKeepAliveSeconds: 0 });
    fake.failNext('ExecuteStatement', 'ThrottlingException', 'Rate exceeded', 4);
    const err = await rowsOf(wh, 'SELECT 3').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'RATE_LIMITED' });
    expect(waits.map(Math.round)).toEqual([100, 200, 250]);
    await wh.close();
  });

  it('a DescribeStatement that fails once does not cancel the statement', async () => {
    const { waits, retry } = recordedRetry();
    const wh = dataApiWarehouse(fake, { retry, sessionKeepAliveSeconds: 0 });
    const cancels = count('CancelStatement');
    fake.failNext('DescribeStatement', 'InternalServerException', 'try again', 1, 500);
    fake.failNext('DescribeStatement', 'ThrottlingException', 'Rate exceeded', 1);
    expect(await rowsOf(wh, 'SELECT 4 AS four')).toEqual([[4]]);
    expect(count('CancelStatement')).toBe(cancels);
    expect(waits).toEqual([50, 100]);
    await wh.close();
  });

  it('a throttled result page is fetched again', async () => {
    const { retry } = recordedRetry();
    const wh = dataApiWarehouse(fake, { retry, sessionKeepAliveSeconds: 0 });
    fake.failNext('GetStatementResultV2', 'ThrottlingException', 'Rate exceeded', 2);
    expect(await rowsOf(wh, 'SELECT 5 AS five')).toEqual([[5]]);
    await wh.close();
  });
});

describe('the fake keeps time like the Data API', () => {
  it('a session idle past its keep-alive is closed: the adapter replaces it and the statement runs', async () => {
    const wh = dataApiWarehouse(fake, { sessionKeepAliveSeconds: 60 });
    expect(await rowsOf(wh, 'SELECT 6 AS six')).toEqual([[6]]);
    expect(wh.sessionStats).toMatchObject({ created: 1 });
    const [opened] = fake.statementsRun().filter((s) => s.sql.includes('six'));
    // The adapter's own clock has not moved: it still believes the session is alive.
    clockMs += 61_000;
    const refusals = fake.requests.length;
    expect(await rowsOf(wh, 'SELECT 7 AS seven')).toEqual([[7]]);
    expect(wh.sessionStats).toMatchObject({ replaced: 1, created: 2 });
    const resent = fake.requests.slice(refusals).filter((r) => r.operation === 'ExecuteStatement');
    expect(resent[0]!.input.SessionId).toBe(opened!.sessionId);
    expect(fake.openSessions().map((s) => s.id)).not.toContain(opened!.sessionId);
    await wh.close();
  });

  it('a statement and its result are gone 24 hours after it ended', async () => {
    const wh = dataApiWarehouse(fake, { sessionKeepAliveSeconds: 0 });
    let ref = '';
    await wh.execute(
      ctx({
        onStatement: (r) => {
          ref = r;
        },
      }),
      { sql: 'SELECT 8 AS eight', params: [] },
      { columns: () => {}, rows: () => {} },
    );
    const id = ref.replace(/^rsd:/, '').split('@')[0]!;
    const client = testDataApiClient(fake.url);
    clockMs += 23 * 3_600_000;
    await expect(client.send(new GetStatementResultV2Command({ Id: id }))).resolves.toMatchObject({
      TotalNumRows: 1,
    });
    clockMs += 3_600_000 + 1000;
    await expect(client.send(new GetStatementResultV2Command({ Id: id }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(client.send(new DescribeStatementCommand({ Id: id }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    client.destroy();
    await wh.close();
  });
});
