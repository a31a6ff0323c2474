/**
 * The AWS adapters built from configuration, one SDK per file under aws/: the Redshift Data API
 * warehouse, the DynamoDB StateStore and the S3 ResultStore. Region and credentials come from the
 * SDK's own chain unless SPECTRA_AWS_REGION is set. A composition root imports the one file it
 * needs, so a function that does not use an SDK does not ship it.
 */
export type { CaptureAwsClient } from './aws/clients.js';
export { buildDynamoStateStore, dynamoTableNames } from './aws/dynamodb.js';
export { buildRedshiftDataWarehouse } from './aws/redshift-data.js';
export { buildS3ResultStore, s3ClientFromConfig } from './aws/s3.js';
