/**
 * Configuration of a Lambda container, loaded once (lazily, on the first invocation) by each
 * function's composition root and reused by every later invocation; config/lambda.ts reads it, this
 * file brings the Secrets Manager client of the Lambda runtime.
 */
import { createRequire } from 'node:module';
import type { Config } from '../../config/index.js';
import { ConfigError } from '../../config/index.js';
import { type FetchSecret, loadLambdaConfig as loadFromEnvironment } from '../../config/lambda.js';

export type { FetchSecret };

export interface LambdaEnvironmentOptions {
  env?: NodeJS.ProcessEnv;
  fetchSecret?: FetchSecret;
}

/** Environment + app secret → Config. Refuses what cannot work on Lambda. */
export function loadLambdaConfig(options: LambdaEnvironmentOptions = {}): Promise<Config> {
  return loadFromEnvironment(options.env ?? process.env, options.fetchSecret ?? fetchSecretFromRuntimeSdk);
}

/**
 * The Node 20 Lambda runtime ships AWS SDK v3 on NODE_PATH; `require` (not `import`) resolves it
 * from an ES module bundle. Pinning a version means adding @aws-sdk/client-secrets-manager to the
 * dependencies and the bundle.
 */
const fetchSecretFromRuntimeSdk: FetchSecret = async (secretId) => {
  const require = createRequire(import.meta.url);
  const sdkName = '@aws-sdk/client-secrets-manager';
  const sdk = require(sdkName) as {
    SecretsManagerClient: new (
      config: object,
    ) => { send(command: unknown): Promise<{ SecretString?: string }> };
    GetSecretValueCommand: new (input: { SecretId: string }) => unknown;
  };
  const client = new sdk.SecretsManagerClient({});
  const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId }));
  if (!out.SecretString) throw new ConfigError(`secret ${secretId} has no string value`);
  return out.SecretString;
};

/** A value computed once per container; a failed attempt is forgotten so the next invocation retries. */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
