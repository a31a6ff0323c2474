/**
 * The Lambda functions: the variables only they read (set by the CDK stack), what they refuse at
 * start, and the API function's limits that follow from Lambda's own — one place, read by the CDK
 * app (which derives the function's environment from them) and by the function at start (which
 * refuses an environment that breaks them). Lambda returns at most 6 MB per synchronous response
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) and API Gateway's
 * BUFFERED Lambda proxy integration waits for the whole response, so NDJSON and CSV are buffered too.
 */
import * as z from 'zod/mini';
import { ConfigError, type ConfigOf, type Setting } from '../setting.js';

/**
 * Read by the Lambda functions only, so not in the server's table (docs/configuration.md describes
 * them beside it).
 */
export const LAMBDA_SETTINGS = {
  secretArn: {
    env: 'SPECTRA_SECRET_ARN',
    schema: z.string(),
    default: '',
    doc: 'The app secret: a Secrets Manager secret whose SPECTRA_* keys fill unset variables at cold start.',
  },
  usagePlans: {
    env: 'SPECTRA_USAGE_PLANS',
    schema: z.pipe(
      z.string(),
      z.transform((v: string) => v === '1'),
    ),
    default: '',
    doc: '`1`: the authorizer returns the tenant as the usage identifier, so API Gateway usage plans throttle per tenant.',
  },
  functionTimeoutSeconds: {
    env: 'SPECTRA_LAMBDA_TIMEOUT_SECONDS',
    schema: z.optional(z.string()),
    default: undefined,
    doc: "The API function's own timeout (Lambda does not expose it in the environment); checked by checkApiFunctionLimits.",
  },
} satisfies Record<string, Setting>;

export type LambdaSettings = ConfigOf<typeof LAMBDA_SETTINGS>;

/** The largest proxy result (status, headers and body, JSON-encoded) the API function returns; under 6 MB either way it is read. */
export const LAMBDA_RESPONSE_MAX_BYTES = 6_000_000;

/**
 * SPECTRA_MAX_RESULT_BYTES on Lambda: the service's estimate of a sync result's JSON. Two thirds of
 * the response limit, leaving room for escaping (the body is a JSON string inside the proxy result);
 * a response that still does not fit is 413 RESULT_TOO_LARGE.
 */
export const LAMBDA_INLINE_RESULT_BYTES = 4_000_000;

/** Time a sync statement leaves the function to cancel it, record the job and answer before Lambda kills it. */
export const SYNC_TIMEOUT_MARGIN_SECONDS = 5;

/** The function's own timeout, passed by the CDK app (Lambda does not expose it in the environment). */
export const FUNCTION_TIMEOUT_ENV = LAMBDA_SETTINGS.functionTimeoutSeconds.env;

/** The API function's environment for its timeout: statement timeouts end before the function does. */
export function apiFunctionLimits(functionTimeoutSeconds: number): Record<string, string> {
  const maxStatement = functionTimeoutSeconds - SYNC_TIMEOUT_MARGIN_SECONDS;
  if (maxStatement < 1) {
    throw new ConfigError(
      `a ${functionTimeoutSeconds} s API function leaves no time for a statement (margin ${SYNC_TIMEOUT_MARGIN_SECONDS} s)`,
    );
  }
  return {
    [FUNCTION_TIMEOUT_ENV]: String(functionTimeoutSeconds),
    SPECTRA_MAX_TIMEOUT_SECONDS: String(maxStatement),
    SPECTRA_DEFAULT_TIMEOUT_SECONDS: String(maxStatement),
    SPECTRA_MAX_RESULT_BYTES: String(LAMBDA_INLINE_RESULT_BYTES),
  };
}

/**
 * Refuses sync limits the function cannot honour: a statement timeout that outlives the function
 * (502, statement left running, no job record) or an inline cap over the response limit.
 */
export function checkApiFunctionLimits(
  config: { maxTimeoutSeconds: number; maxResultBytes: number },
  raw: string | undefined,
): void {
  if (raw === undefined) return;
  const functionTimeout = Number(raw);
  if (!Number.isInteger(functionTimeout) || functionTimeout < 1)
    throw new ConfigError(`${FUNCTION_TIMEOUT_ENV} must be a whole number of seconds, got "${raw}"`);
  const problems: string[] = [];
  const room = functionTimeout - SYNC_TIMEOUT_MARGIN_SECONDS;
  if (config.maxTimeoutSeconds > room) {
    problems.push(
      `SPECTRA_MAX_TIMEOUT_SECONDS=${config.maxTimeoutSeconds} must be at most ${room} (the function times out at ${functionTimeout} s and needs ${SYNC_TIMEOUT_MARGIN_SECONDS} s to cancel and record)`,
    );
  }
  if (config.maxResultBytes === 0 || config.maxResultBytes >= LAMBDA_RESPONSE_MAX_BYTES) {
    problems.push(
      `SPECTRA_MAX_RESULT_BYTES=${config.maxResultBytes} must be between 1 and ${LAMBDA_RESPONSE_MAX_BYTES - 1} (Lambda's response limit)`,
    );
  }
  if (problems.length) throw new ConfigError(`API function limits:\n  ${problems.join('\n  ')}`);
}

/** What cannot work on Lambda, whatever the function. */
export function lambdaProblems(config: {
  apiKeyPepper: string;
  warehouseUrl: string;
  warehouse: string;
  stateUrl: string;
  state: string;
}): ConfigError | undefined {
  if (!config.apiKeyPepper) {
    // A pepper generated per container would make every API key fail on the next cold start.
    return new ConfigError(
      'SPECTRA_API_KEY_PEPPER must be set on Lambda (put it in the SPECTRA_SECRET_ARN secret)',
    );
  }
  const externalWarehouse = config.warehouseUrl !== '' || config.warehouse !== 'postgres';
  const externalState = config.stateUrl !== '' || config.state !== 'postgres';
  if (!externalWarehouse || !externalState) {
    return new ConfigError(
      'Lambda cannot run the embedded PostgreSQL: set SPECTRA_WAREHOUSE=redshift-data and SPECTRA_STATE=dynamodb, or SPECTRA_WAREHOUSE_URL and SPECTRA_STATE_URL',
    );
  }
  return undefined;
}
