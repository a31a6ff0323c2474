/**
 * Data API parameter rules (issue 14, item 2): the fake refuses what AWS refuses before running a
 * statement, and the adapter never sends it: empty strings and NULLs become literals, a statement
 * over 100 KB is PAYLOAD_TOO_LARGE, NUL is refused.
 */
import { ExecuteStatementCommand } from '@aws-sdk/client-redshift-data';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import { DATA_API_MAX_SQL_BYTES } from '../../../src/sql/data-api-params.js';
import type { ExecutionContext } from '../../../src/warehouse/port.js';
import type { RedshiftDataWarehouse } from '../../../src/warehouse/redshift-data/index.js';
import { RecordingSink } from '../../contracts/warehouse-contract.js';
import type { RedshiftDataFake } from '../../fakes/redshift-data-fake.js';
import { pgFacts } from '../../helpers/pg-fixture.js';
import {
  dataApiWarehouse,
  FAKE_CLUSTER,
  startRedshiftDataFake,
  testDataApiClient,
} from '../../helpers/redshift-data.js';

let fake: RedshiftDataFake;
let warehouse: RedshiftDataWarehouse;
const ctx = (): ExecutionContext => ({
  tenantId: pgFacts().tenants[0]!.tenantId,
  dbUser: pgFacts().tenants[0]!.dbUser,
  timeoutMs: 20_000,
});

async function run(sql: string, params: unknown[]) {
  const sink = new RecordingSink();
  await warehouse.execute(ctx(), { sql, params }, sink);
  return sink.rowsSeen;
}

beforeAll(async () => {
  fake = await startRedshiftDataFake();
  warehouse = dataApiWarehouse(fake);
});
afterAll(async () => {
  await warehouse?.close();
  await fake?.stop();
});

describe('the fake refuses what AWS refuses', () => {
  const send = async (input: Record<string, unknown>) => {
    const client = testDataApiClient(fake.url);
    try {
      await client.send(
        new ExecuteStatementCommand({
          ClusterIdentifier: FAKE_CLUSTER,
          Database: pgFacts().warehouseDb,
          DbUser: pgFacts().tenants[0]!.dbUser,
          Sql: 'SELECT :a AS a',
          ...input,
        } as never),
      );
      return null;
    } catch (e) {
      return { name: (e as Error).name, message: (e as Error).message };
    } finally {
      client.destroy();
    }
  };

  it('a zero-length parameter value', async () => {
    expect(await send({ Parameters: [{ name: 'a', value: '' }] })).toEqual({
      name: 'ValidationException',
      message: "You can't set a zero length value",
    });
  });

  it('an empty Parameters array, a name outside [0-9a-zA-Z_]+', async () => {
    expect(await send({ Sql: 'SELECT 1', Parameters: [] })).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("at 'parameters' failed to satisfy constraint"),
    });
    expect(await send({ Parameters: [{ name: 'a-b', value: 'x' }] })).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('regular expression pattern: [0-9a-zA-Z_]+'),
    });
  });

  it('a statement text over 100 KB', async () => {
    const sql = `SELECT '${'x'.repeat(DATA_API_MAX_SQL_BYTES)}' AS a`;
    expect(await send({ Sql: sql })).toEqual({
      name: 'ValidationException',
      message: 'Cannot process query string larger than 100kB',
    });
  });
});

describe('the adapter sends only what the Data API can carry', () => {
  it('an empty string comes back as an empty string', async () => {
    expect(await run('SELECT $1 AS v, $2 AS w', ['', 'x'])).toEqual([['', 'x']]);
    const sent = fake.requests.filter((r) => r.operation === 'ExecuteStatement').at(-1)!;
    expect(sent.input.Parameters).toEqual([{ name: 'p2', value: 'x' }]);
  });

  it('any string without NUL round-trips unchanged (quotes, backslashes, placeholders, empty)', async () => {
    const text = fc.oneof(
      fc.constantFrom('', "'", "''", '\\', "\\'", "'; DROP TABLE sales; --", ':p1', '$1', '$$', "E'\\x'"),
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: fc.constantFrom("'", '\\', '"', ':', '$', ' ', 'a', '\n') }),
    );
    await fc.assert(
      fc.asyncProperty(text, text, async (a, b) => {
        expect(await run('SELECT $1 AS a, $2 AS b, $1 AS again', [a, b])).toEqual([[a, b, a]]);
      }),
      { numRuns: 40 },
    );
  });

  it('a value with NUL is refused before anything is sent', async () => {
    const before = fake.requests.length;
    await expect(run('SELECT $1 AS v', ['a\0b'])).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(fake.requests.length).toBe(before);
  });

  it('a statement over 100 KB once rewritten is PAYLOAD_TOO_LARGE, not an AWS error', async () => {
    const before = fake.requests.length;
    const error = await run(`SELECT '${'é'.repeat(DATA_API_MAX_SQL_BYTES / 2)}' AS v`, []).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { max_bytes: DATA_API_MAX_SQL_BYTES },
    });
    expect(fake.requests.length).toBe(before);
  });
});
