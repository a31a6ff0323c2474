/**
 * The S3 ResultStore (and the S3 client the Data API's UNLOAD writes through) from configuration.
 * The endpoint comes from AWS_ENDPOINT_URL_S3 (s3rver, MinIO), which the SDK reads itself.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../../config/index.js';
import { s3Bucket } from '../../config/sections/storage.js';
import { createS3Client, S3ResultStore } from '../../storage/s3/index.js';
import { awsRegion, type CaptureAwsClient } from './clients.js';

/**
 * An S3 client for the configured region and endpoint. With an endpoint override (s3rver, MinIO,
 * LocalStack) buckets are addressed by path: such servers rarely resolve `<bucket>.<host>`.
 */
export function s3ClientFromConfig(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  capture?: CaptureAwsClient,
): S3Client {
  const endpointSet = Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
  const client = createS3Client({ ...awsRegion(config), forcePathStyle: endpointSet });
  return capture ? capture(client) : client;
}

export function buildS3ResultStore(config: Config, capture?: CaptureAwsClient): S3ResultStore {
  const bucket = s3Bucket(config);
  return new S3ResultStore({
    client: s3ClientFromConfig(config, process.env, capture),
    bucket,
    prefix: config.s3Prefix,
    bulkPrefix: config.s3BulkPrefix,
    uploadsPrefix: config.s3UploadsPrefix,
  });
}
