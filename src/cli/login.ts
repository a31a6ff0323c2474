/**
 * `spectra login --url URL --key KEY [--profile NAME]`: checks the credential against the server
 * (GET /v1/me) and stores it as a profile (profiles.ts) for the data commands.
 */
import { SpectraError } from '../client/errors.js';
import { type Io, parseCommand, printJson, processIo, runCommand, UsageError } from './command.js';
import { connect } from './connect.js';
import { DEFAULT_PROFILE, saveProfile } from './profiles.js';

export const LOGIN_USAGE = `Usage: spectra login --url URL --key KEY [--profile NAME]
  Checks the API key against the server and stores URL and key as a profile (default "${DEFAULT_PROFILE}")
  in your config directory (file mode 0600). Data commands use it; --profile NAME picks another,
  and --url / --key or SPECTRA_URL / SPECTRA_API_KEY override it.
`;

const spec = {
  name: 'login',
  usage: LOGIN_USAGE,
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    'api-key': { type: 'string' },
    profile: { type: 'string' },
    json: { type: 'boolean' },
  },
} as const;

export function runLoginCommand(argv: string[], io: Io = processIo()): Promise<number> {
  const hint: { source?: string } = {};
  return runCommand(
    spec,
    argv,
    async () => {
      const { values } = parseCommand(spec, argv);
      const key = values.key ?? values['api-key'];
      if (!values.url) throw new UsageError('missing --url URL');
      if (!key) throw new UsageError('missing --key KEY');
      let url: URL;
      try {
        url = new URL(values.url);
      } catch {
        throw new UsageError(`--url is not a URL: "${values.url}"`);
      }
      const base = url.toString().replace(/\/+$/, '');
      const { client } = await connect({ url: base, key }, io, hint);
      hint.source = '--url';
      let who: { tenant_id: string; permissions?: string[] };
      try {
        who = await client.me();
      } catch (e) {
        // A server older than GET /v1/me: any authenticated read proves the key.
        if (!(e instanceof SpectraError && e.status === 404)) throw e;
        for await (const _ of client.jobs.list({ pageSize: 1 })) break;
        who = { tenant_id: key.split('_')[1] ?? '?' };
      }
      const name = values.profile ?? DEFAULT_PROFILE;
      const file = await saveProfile(io.env, name, { url: base, api_key: key });
      if (values.json) printJson(io, { profile: name, url: base, tenant_id: who.tenant_id, file });
      else
        io.out.write(
          `logged in to ${base} as tenant ${who.tenant_id} (profile "${name}", stored in ${file})\n`,
        );
      return 0;
    },
    io,
    () => hint.source ?? '--url',
  );
}
