/**
 * The Redshift Data API adapter over the test fake (test/fakes/redshift-data-fake.ts) on the run's
 * embedded PostgreSQL, talking through the real AWS SDK client.
 */
import net from 'node:net';
import type { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import {
  createRedshiftDataClient,
  RedshiftDataWarehouse,
  type RedshiftDataWarehouseOptions,
} from '../../src/warehouse/redshift-data/index.js';
import { RedshiftDataFake, type RedshiftDataFakeOptions } from '../fakes/redshift-data-fake.js';
import { pgFacts } from './pg-fixture.js';

export const FAKE_CLUSTER = 'spectra-test';

export async function startRedshiftDataFake(
  options: Omit<RedshiftDataFakeOptions, 'pg'> = {},
): Promise<RedshiftDataFake> {
  const f = pgFacts();
  return new RedshiftDataFake({
    pg: {
      host: f.host,
      port: f.port,
      user: f.authenticator.user,
      password: f.authenticator.password,
      database: f.warehouseDb,
    },
    clusterIdentifier: FAKE_CLUSTER,
    workgroupName: 'spectra-serverless',
    ...options,
  }).start();
}

/** A real SDK client pointed at `endpoint` with dummy credentials; one attempt unless told otherwise. */
export function testDataApiClient(endpoint: string, maxAttempts = 1): RedshiftDataClient {
  return createRedshiftDataClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts,
  });
}

export function dataApiWarehouse(
  fake: RedshiftDataFake,
  options: Partial<RedshiftDataWarehouseOptions> = {},
): RedshiftDataWarehouse {
  return new RedshiftDataWarehouse({
    client: testDataApiClient(fake.url),
    target: { clusterIdentifier: FAKE_CLUSTER },
    database: pgFacts().warehouseDb,
    auth: { kind: 'db-user' },
    sessionKeepAliveSeconds: 60,
    polling: { initialMs: 10, maxMs: 100 },
    ...options,
  });
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
