/**
 * Imported first by test/e2e/aws/*.test.ts: switches `startSpectra` to the AWS adapters on their
 * local stand-ins (aws-stack.ts) before the shared suite it imports next is evaluated.
 */
process.env.SPECTRA_TEST_STACK = 'aws';
