/**
 * `spectra aws init`: creates the DynamoDB tables of the StateStore (with their indexes, streams and
 * TTL) and the S3 bucket of the ResultStore, against the configured region and endpoints
 * (AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3 for local stand-ins). Idempotent: what exists is
 * left as it is and reported as such. In AWS accounts the CDK stack (infra/) creates these instead.
 */
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  HeadBucketCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type Config, ConfigError, loadConfig } from '../config/index.js';
import { dynamoTableNames } from '../runtime/aws/dynamodb.js';
import { s3ClientFromConfig } from '../runtime/aws/s3.js';
import { createTables } from '../state/dynamodb/index.js';

export const AWS_USAGE = `Usage: spectra aws init   (against SPECTRA_AWS_REGION / AWS_REGION and the AWS_ENDPOINT_URL_* endpoints)
  spectra aws init    create the DynamoDB tables (SPECTRA_DYNAMODB_*_TABLE_NAME) and the S3 bucket
                      (SPECTRA_S3_BUCKET_NAME, if set); existing ones are left as they are
`;

interface Io {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

export async function runAwsCommand(
  args: string[],
  io: Io = { out: process.stdout, err: process.stderr, env: process.env },
): Promise<number> {
  const { wantsHelp } = await import('./command.js');
  if (args.length === 0 || wantsHelp(args)) {
    io.out.write(AWS_USAGE);
    return 0;
  }
  if (args[0] !== 'init' || args.length > 1) {
    const problem =
      args[0] !== 'init' ? `unknown subcommand "${args[0]}"` : `unexpected argument "${args[1]}"`;
    io.err.write(`spectra aws: ${problem}\n${AWS_USAGE}`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(io.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.err.write(`spectra: ${e.message}\n`);
    return 2;
  }
  try {
    await initAws(config, io);
    return 0;
  } catch (e) {
    io.err.write(`spectra aws init: ${(e as Error).name}: ${(e as Error).message}\n`);
    return 1;
  }
}

export async function initAws(config: Config, io: Pick<Io, 'out' | 'env'>): Promise<void> {
  const region = config.awsRegion ? { region: config.awsRegion } : {};
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dynamo = new DynamoDBClient(region);
  try {
    const names = dynamoTableNames(config);
    const existed = new Set<string>();
    for (const table of Object.values(names)) if (await tableExists(dynamo, table)) existed.add(table);
    await createTables(dynamo, names);
    for (const table of Object.values(names))
      io.out.write(`DynamoDB table ${table}: ${existed.has(table) ? 'exists' : 'created'}\n`);
  } finally {
    dynamo.destroy();
  }

  const bucket = config.s3BucketName.trim();
  if (!bucket) {
    io.out.write('S3 bucket: SPECTRA_S3_BUCKET_NAME is not set, none created\n');
    return;
  }
  const s3 = s3ClientFromConfig(config, io.env);
  try {
    io.out.write(`S3 bucket ${bucket}: ${(await ensureBucket(s3, bucket)) ? 'created' : 'exists'}\n`);
  } finally {
    s3.destroy();
  }
}

async function tableExists(client: DynamoDBClient, table: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
    return true;
  } catch (e) {
    if (e instanceof ResourceNotFoundException) return false;
    throw e;
  }
}

/** True when the bucket was created; an existing bucket of another account is an error (403). */
async function ensureBucket(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (e) {
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw e;
  }
  const region = await client.config.region();
  await client.send(
    new CreateBucketCommand({
      Bucket: bucket,
      // us-east-1 is the default location and must not be named.
      ...(region && region !== 'us-east-1'
        ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }
        : {}),
    }),
  );
  return true;
}
