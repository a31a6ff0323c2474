/**
 * `spectra admin-key`: issues an admin API key (`admin:*`) straight into the configured state store
 * — DynamoDB (`SPECTRA_STATE=dynamodb`, e.g. a fresh serverless deploy) or an external PostgreSQL
 * (`SPECTRA_STATE_URL`) — so an operator can bootstrap tenants through the admin API before any
 * admin key exists. It needs the deployment's `SPECTRA_API_KEY_PEPPER`: a key peppered with anything
 * else would never authenticate. The key is printed once and stored only as its hash.
 */
import { type Config, ConfigError, loadConfig } from '../config/index.js';
import { issueAdminKey } from '../runtime/core.js';
import { openStateStore } from '../runtime/state-store.js';

export const ADMIN_KEY_USAGE = `Usage: spectra admin-key   (no server needed; against SPECTRA_STATE=dynamodb or SPECTRA_STATE_URL)
  Issues an admin:* API key; needs the deployment's SPECTRA_API_KEY_PEPPER
`;

interface Io {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

export async function runAdminKeyCommand(
  args: string[],
  io: Io = { out: process.stdout, err: process.stderr, env: process.env },
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.out.write(ADMIN_KEY_USAGE);
    return 0;
  }
  if (args.length > 0) {
    io.err.write(`spectra admin-key: unexpected argument "${args[0]}"\n${ADMIN_KEY_USAGE}`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(io.env);
    if (!config.apiKeyPepper)
      throw new ConfigError(
        'SPECTRA_API_KEY_PEPPER must be the pepper the API uses (on AWS: the app secret), or the key would never authenticate',
      );
    if (config.state === 'postgres' && !config.stateUrl)
      throw new ConfigError(
        'set SPECTRA_STATE=dynamodb or SPECTRA_STATE_URL; the embedded shape prints its admin key to SPECTRA_HOME/credentials.json',
      );
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.err.write(`spectra: ${e.message}\n`);
    return 2;
  }
  const state = await openStateStore(config);
  try {
    await state.ping();
    const issued = await issueAdminKey(state, config.apiKeyPepper);
    io.out.write(`admin key (shown once; only its hash is stored): ${issued.apiKey}\n`);
    io.out.write(`key id: ${issued.record.keyId}\n`);
    return 0;
  } catch (e) {
    const { hint, cause } = (e as { details?: { hint?: unknown; cause?: unknown } }).details ?? {};
    const why = typeof hint === 'string' ? hint : typeof cause === 'string' ? cause : '';
    io.err.write(`spectra admin-key: ${(e as Error).message}${why ? ` (${why})` : ''}\n`);
    return 1;
  } finally {
    await state.close();
  }
}
