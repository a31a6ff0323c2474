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
import { S3RVER_CREDENTIALS } from './s3-fixture.js';

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

/** The IAM role the tests' UNLOAD/COPY statements name (the fake checks its form, not IAM). */
export const TEST_REDSHIFT_S3_ROLE = 'arn:aws:iam::123456789012:role/spectra-redshift-s3';

/**
 * Points this process's Data API client at `fake` (test credentials) and returns the settings of a
 * server on the Data API warehouse, results kept as the embedded shape keeps them.
 */
export function dataApiSettings(fake: RedshiftDataFake) {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_REDSHIFT_DATA: fake.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  return {
    SPECTRA_WAREHOUSE: 'redshift-data',
    SPECTRA_AWS_REGION: 'us-east-1',
    SPECTRA_REDSHIFT_CLUSTER_ID: FAKE_CLUSTER,
    SPECTRA_REDSHIFT_DATABASE: pgFacts().warehouseDb,
  };
}

/**
 * Points the AWS SDK at the fake and s3rver the standard way (AWS_ENDPOINT_URL_*, s3rver's key)
 * and returns the settings of a service on `SPECTRA_WAREHOUSE=redshift-data` + `SPECTRA_STORAGE=s3`
 * with bulk paths through UNLOAD/COPY into `bucket`.
 */
export function dataApiS3Settings(fake: RedshiftDataFake, bucket: string, s3Endpoint: string) {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_REDSHIFT_DATA: fake.url,
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  });
  return {
    SPECTRA_WAREHOUSE: 'redshift-data',
    SPECTRA_STORAGE: 's3',
    SPECTRA_AWS_REGION: 'us-east-1',
    SPECTRA_REDSHIFT_CLUSTER_ID: FAKE_CLUSTER,
    SPECTRA_REDSHIFT_DATABASE: pgFacts().warehouseDb,
    SPECTRA_S3_BUCKET_NAME: bucket,
    SPECTRA_S3_PREFIX: 'results/',
    SPECTRA_REDSHIFT_S3_ROLE_ARN: TEST_REDSHIFT_S3_ROLE,
  };
}
