/**
 * The Bulk API suite (../bulk.test.ts) on the serverless shape's adapters: Redshift Data API (the fake),
 * DynamoDB (DynamoDB Local) and S3 (s3rver).
 */
import '../../helpers/aws-stack-env.js';
import '../bulk.test.js';
