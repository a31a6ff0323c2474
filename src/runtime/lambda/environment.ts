/**
 * Configuration of a Lambda container, loaded once (lazily, on the first invocation) by each
 * function's composition root and reused by every later invocation. Server secrets (API key pepper, JWT secret)
 * come from one Secrets Manager secret whose JSON keys are SPECTRA_* variables
 * (`SPECTRA_SECRET_ARN`); a variable already set in the environment wins over the secret.
 */
import { createRequire } from 'node:module';
import { type Config, ConfigError, loadConfig } from '../../config/index.js';
import { checkApiFunctionLimits } from './limits.js';

export type FetchSecret = (secretId: string) => Promise<string>;

export interface LambdaEnvironmentOptions {
  env?: NodeJS.ProcessEnv;
  fetchSecret?: FetchSecret;
}

/** Environment + app secret → Config. Refuses what cannot work on Lambda. */
export async function loadLambdaConfig(options: LambdaEnvironmentOptions = {}): Promise<Config> {
  const env = { ...(options.env ?? process.env) };
  const secretId = env.SPECTRA_SECRET_ARN;
  if (secretId) {
    const raw = await (options.fetchSecret ?? fetchSecretFromRuntimeSdk)(secretId);
    let values: unknown;
    try {
      values = JSON.parse(raw);
    } catch {
      throw new ConfigError('SPECTRA_SECRET_ARN: the secret is not a JSON object of SPECTRA_* keys');
    }
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new ConfigError('SPECTRA_SECRET_ARN: the secret is not a JSON object of SPECTRA_* keys');
    }
    for (const [key, value] of Object.entries(values)) {
      if (key.startsWith('SPECTRA_') && typeof value === 'string' && env[key] === undefined) env[key] = value;
    }
  }
  const config = loadConfig(env);
  if (!config.apiKeyPepper) {
    // A pepper generated per container would make every API key fail on the next cold start.
    throw new ConfigError(
      'SPECTRA_API_KEY_PEPPER must be set on Lambda (put it in the SPECTRA_SECRET_ARN secret)',
    );
  }
  const externalWarehouse =
    config.warehouseUrl !== '' || (env.SPECTRA_WAREHOUSE ?? 'postgres') !== 'postgres';
  const externalState = config.stateUrl !== '' || (env.SPECTRA_STATE ?? 'postgres') !== 'postgres';
  if (!externalWarehouse || !externalState) {
    throw new ConfigError(
      'Lambda cannot run the embedded PostgreSQL: set SPECTRA_WAREHOUSE=redshift-data and SPECTRA_STATE=dynamodb, or SPECTRA_WAREHOUSE_URL and SPECTRA_STATE_URL',
    );
  }
  checkApiFunctionLimits(config, env);
  return config;
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
