/**
 * The settings of the command-line clients (data commands, `tenants`/`keys`/`audit`): where the
 * server is and which credential to send. Raw values, undefined when unset, because each command
 * ranks them against its flags and profiles itself (docs/cli.md). Kept apart from the server's table
 * (and from zod) so that loading a client command stays light.
 */
export interface ClientSettings {
  /** SPECTRA_HOME: where `spectra serve` writes server.json and credentials.json. */
  home: string | undefined;
  /** SPECTRA_URL */
  url: string | undefined;
  /** SPECTRA_API_KEY */
  apiKey: string | undefined;
  /** SPECTRA_ADMIN_KEY */
  adminKey: string | undefined;
  /** SPECTRA_PROFILE */
  profile: string | undefined;
  /** SPECTRA_CONFIG_DIR: the folder of profiles.json. */
  configDir: string | undefined;
}

export function readClientSettings(env: NodeJS.ProcessEnv = process.env): ClientSettings {
  return {
    home: env.SPECTRA_HOME,
    url: env.SPECTRA_URL,
    apiKey: env.SPECTRA_API_KEY,
    adminKey: env.SPECTRA_ADMIN_KEY,
    profile: env.SPECTRA_PROFILE,
    configDir: env.SPECTRA_CONFIG_DIR,
  };
}
