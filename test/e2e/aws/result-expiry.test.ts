/** The result-expiry suite (../result-expiry.test.ts) on S3 (s3rver): objects deleted from the bucket. */
import '../../helpers/aws-stack-env.js';
import '../result-expiry.test.js';
