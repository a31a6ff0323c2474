/**
 * `spectra aws init` against DynamoDB Local and s3rver, configured only the documented way
 * (SPECTRA_* names, AWS_ENDPOINT_URL_* endpoints): creates what is missing, leaves what exists.
 */
import { DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAwsCommand } from '../../../src/cli/aws-init.js';
import { loadConfig } from '../../../src/config/index.js';
import { dynamoTableNames } from '../../../src/runtime/aws/dynamodb.js';
import { buildS3ResultStore } from '../../../src/runtime/aws/s3.js';
import { dynamoClientConfig, dynamoEndpoint, uniqueTablePrefix } from '../../helpers/dynamodb-fixture.js';
import { S3RVER_CREDENTIALS, s3Endpoint } from '../../helpers/s3-fixture.js';

const prefix = uniqueTablePrefix('init');
const bucket = `init-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
const tables = [
  'jobs',
  'tenants',
  'api-keys',
  'idempotency',
  'audit',
  'rate-limits',
  'bulk-jobs',
  'sessions',
].map((t) => `${prefix}-${t}`);

beforeAll(async () => {
  const env = {
    AWS_ENDPOINT_URL_DYNAMODB: await dynamoEndpoint(),
    AWS_ENDPOINT_URL_S3: s3Endpoint(),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    SPECTRA_DYNAMODB_TABLE_NAME: tables[0],
    SPECTRA_DYNAMODB_TENANTS_TABLE_NAME: tables[1],
    SPECTRA_DYNAMODB_API_KEYS_TABLE_NAME: tables[2],
    SPECTRA_DYNAMODB_IDEMPOTENCY_TABLE_NAME: tables[3],
    SPECTRA_DYNAMODB_AUDIT_TABLE_NAME: tables[4],
    SPECTRA_DYNAMODB_RATE_LIMITS_TABLE_NAME: tables[5],
    SPECTRA_DYNAMODB_BULK_TABLE_NAME: tables[6],
    SPECTRA_DYNAMODB_SESSIONS_TABLE_NAME: tables[7],
    SPECTRA_S3_BUCKET_NAME: bucket,
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v as string);
});
afterAll(() => {
  vi.unstubAllEnvs();
});

async function init() {
  let out = '';
  let err = '';
  const code = await runAwsCommand(['init'], {
    out: { write: (s: string) => (out += s) },
    err: { write: (s: string) => (err += s) },
    env: process.env,
  });
  return { code, out, err };
}

describe('spectra aws init', () => {
  it('creates the tables and the bucket, then reports them as existing', async () => {
    const names = Object.values(dynamoTableNames(loadConfig(process.env)));
    expect(names.sort()).toEqual([...tables].sort());
    const first = await init();
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    for (const t of tables) expect(first.out).toContain(`DynamoDB table ${t}: created\n`);
    expect(first.out).toContain(`S3 bucket ${bucket}: created\n`);

    const second = await init();
    expect(second.code).toBe(0);
    for (const t of tables) expect(second.out).toContain(`DynamoDB table ${t}: exists\n`);
    expect(second.out).toContain(`S3 bucket ${bucket}: exists\n`);

    const dynamo = new DynamoDBClient(dynamoClientConfig(await dynamoEndpoint()));
    const ttl = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: tables[0] }));
    expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).toBe('ENABLED');
    dynamo.destroy();
  });

  it('the configured S3 ResultStore then works against the same endpoint', async () => {
    const store = buildS3ResultStore(loadConfig(process.env));
    const w = await store.createWriter('acme/job-1/result-1.ndjson');
    await w.write('{"a":1}\n');
    await w.close();
    expect((await store.list('acme/')).map((o) => o.key)).toEqual(['acme/job-1/result-1.ndjson']);
    store.client.destroy();
  });

  it('refuses anything but "init"', async () => {
    let err = '';
    const code = await runAwsCommand(['create'], {
      out: { write: () => {} },
      err: { write: (s) => (err += s) },
      env: {},
    });
    expect(code).toBe(2);
    expect(err).toContain('spectra aws init');
  });
});
