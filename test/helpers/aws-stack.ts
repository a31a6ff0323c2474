/**
 * The serverless shape's adapters on the local stand-ins, for running the API suites against them:
 * the Redshift Data API warehouse on the Data API fake (backed by the run's PostgreSQL; bulk paths
 * through UNLOAD/COPY on s3rver), the
 * DynamoDB StateStore on DynamoDB Local (fresh tables), the S3 ResultStore on s3rver (a fresh
 * bucket). `startSpectra` uses it when SPECTRA_TEST_STACK=aws (test/e2e/aws/*.test.ts set it), so
 * the same test files prove both stacks.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLES } from '../../infra/lib/table-design.js';
import { createTables, stateTableNames } from '../../src/state/dynamodb/index.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from './dynamodb-fixture.js';
import { dataApiS3Settings, startRedshiftDataFake } from './redshift-data.js';
import { s3Endpoint, testS3Client, uniqueBucket } from './s3-fixture.js';

export const AWS_STACK = 'aws';

/** True in a test file that runs its suite on the AWS adapters. */
export function onAwsStack(): boolean {
  return process.env.SPECTRA_TEST_STACK === AWS_STACK;
}

export interface AwsStack {
  /** SPECTRA_* settings selecting and naming the three adapters. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Starts a Data API fake, creates the StateStore tables and a results bucket, and points the AWS
 * SDK at the stand-ins the standard way (AWS_ENDPOINT_URL_*), as `spectra serve` would be run.
 */
export async function startAwsStack(): Promise<AwsStack> {
  const s3 = testS3Client();
  const bucket = await uniqueBucket(s3, 'stack');
  // The fake runs UNLOAD/COPY against s3rver; its "MB" is 64 KiB, so a tenant's export makes several parts.
  const fake = await startRedshiftDataFake({
    pageRows: 1000,
    chunkRows: 250,
    bulk: { s3, megabyteBytes: 64 * 1024 },
  });
  const dynamo = dynamoClientConfig(await dynamoEndpoint());
  const tables = stateTableNames(uniqueTablePrefix('stack'));
  const admin = new DynamoDBClient(dynamo);
  await createTables(admin, tables);
  admin.destroy();

  const dataApiS3 = dataApiS3Settings(fake, bucket, s3Endpoint());
  // DynamoDB Local accepts any credentials, s3rver only its own (set above).
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  const tableEnv = tableSettings(tables);
  return {
    env: {
      ...dataApiS3,
      SPECTRA_STATE: 'dynamodb',
      SPECTRA_REDSHIFT_UNLOAD_MAX_FILE_SIZE_MB: '5',
      ...tableEnv,
    },
    close: async () => {
      await fake.stop();
      s3.destroy();
    },
  };
}

/** Each table's setting, as the CDK stack passes them to the functions (infra/lib/table-design.ts). */
export function tableSettings(tables: Record<string, string>): Record<string, string> {
  const designs: Record<string, { env: string }> = TABLES;
  return Object.fromEntries(
    Object.entries(tables).map(([table, name]) => {
      const design = designs[table];
      if (!design) throw new Error(`infra/lib/table-design.ts has no ${table} table`);
      return [design.env, name];
    }),
  );
}
