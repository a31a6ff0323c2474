/**
 * CDK entry point: `npx cdk synth` / `npx cdk deploy` from the project root (cdk.json points here).
 * Settings come from context (`-c key=value`, see docs/deploy-aws.md); the stack is
 * environment-agnostic, so synthesis needs no AWS account or credentials.
 */
import { App } from 'aws-cdk-lib';
import { ConfigError, configFromContext } from '../lib/config.js';
import { SpectraStack } from '../lib/spectra-stack.js';

const app = new App();
try {
  const config = configFromContext((key) => app.node.tryGetContext(key));
  new SpectraStack(app, String(app.node.tryGetContext('stackName') ?? 'RedshiftSpectra'), {
    config,
    description: 'Redshift Spectra: multi-tenant REST API over Amazon Redshift',
  });
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
app.synth();
