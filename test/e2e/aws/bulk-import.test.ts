/**
 * ../bulk-import.test.ts on the serverless shape's adapters: Redshift Data API (the fake; bulk paths
 * through UNLOAD/COPY on s3rver), DynamoDB (DynamoDB Local) and S3 (s3rver).
 */
import '../../helpers/aws-stack-env.js';
import '../bulk-import.test.js';
