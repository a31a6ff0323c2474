/** The bind-parameter suite (../query-params.test.ts) on the serverless shape's adapters. */
import '../../helpers/aws-stack-env.js';
import '../query-params.test.js';
