/**
 * Configuration of a Lambda container: the environment plus the app secret (SPECTRA_SECRET_ARN, a
 * Secrets Manager secret whose JSON keys are SPECTRA_* variables; a variable already set in the
 * environment wins over the secret), refusing what cannot work on Lambda.
 */
import { type Config, ConfigError, loadConfig } from './index.js';
import {
  checkApiFunctionLimits,
  LAMBDA_SETTINGS,
  type LambdaSettings,
  lambdaProblems,
} from './sections/lambda.js';
import { invalid, parseSettings } from './setting.js';

export type FetchSecret = (secretId: string) => Promise<string>;

/** The Lambda-only variables (sections/lambda.ts). */
export function readLambdaSettings(env: NodeJS.ProcessEnv = process.env): LambdaSettings {
  const problems: string[] = [];
  const out = parseSettings(LAMBDA_SETTINGS, env, {}, problems) as LambdaSettings;
  if (problems.length) throw invalid(problems);
  return out;
}

export async function loadLambdaConfig(env: NodeJS.ProcessEnv, fetchSecret: FetchSecret): Promise<Config> {
  const merged = { ...env };
  const { secretArn } = readLambdaSettings(env);
  if (secretArn) {
    const raw = await fetchSecret(secretArn);
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
      if (key.startsWith('SPECTRA_') && typeof value === 'string' && merged[key] === undefined)
        merged[key] = value;
    }
  }
  const config = loadConfig(merged);
  const refused = lambdaProblems(config);
  if (refused) throw refused;
  checkApiFunctionLimits(config, readLambdaSettings(merged).functionTimeoutSeconds);
  return config;
}
