/**
 * `spectra tenants …` and `spectra keys …`: clients of the admin API of a running server. The
 * server is found through `--url` / `SPECTRA_URL` or `SPECTRA_HOME/server.json` (written by
 * `spectra serve`); the admin key through `--admin-key` / `SPECTRA_ADMIN_KEY` or
 * `SPECTRA_HOME/credentials.json`. Output: indented JSON, or one compact line with --json.
 */
import { connectAdminApi } from './admin-api.js';
import { type Io, parseCommand, processIo, runCommand, UsageError } from './command.js';

export const TENANTS_USAGE = `Usage: spectra tenants <subcommand>   (talks to a running server's admin API)
  spectra tenants create ID [--name NAME] [--db-user ROLE] [--permissions p1,p2]
  spectra tenants list
  spectra tenants show ID
  spectra tenants suspend ID | resume ID | delete ID
  common flags: --url URL (SPECTRA_URL), --admin-key KEY (SPECTRA_ADMIN_KEY), --home DIR (SPECTRA_HOME), --json
`;

export const KEYS_USAGE = `Usage: spectra keys <subcommand>   (talks to a running server's admin API)
  spectra keys create TENANT [--permissions p1,p2] [--expires-at RFC3339]
  spectra keys list TENANT
  spectra keys rotate TENANT KEY_ID
  spectra keys revoke TENANT KEY_ID
  common flags: --url URL (SPECTRA_URL), --admin-key KEY (SPECTRA_ADMIN_KEY), --home DIR (SPECTRA_HOME), --json
`;

export const ADMIN_USAGE = TENANTS_USAGE + KEYS_USAGE;

const OPTIONS = {
  url: { type: 'string' },
  'admin-key': { type: 'string' },
  home: { type: 'string' },
  name: { type: 'string' },
  'db-user': { type: 'string' },
  permissions: { type: 'string' },
  'expires-at': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const VERBS = {
  tenants: ['create', 'list', 'show', 'suspend', 'resume', 'delete'],
  keys: ['create', 'list', 'rotate', 'revoke'],
} as const;

export function runAdminCommand(
  group: 'tenants' | 'keys',
  argv: string[],
  io: Io = processIo(),
): Promise<number> {
  const usage = group === 'tenants' ? TENANTS_USAGE : KEYS_USAGE;
  const verb = argv[0] && !argv[0].startsWith('-') ? argv[0] : undefined;
  const spec = { name: verb ? `${group} ${verb}` : group, usage, options: OPTIONS, positionals: 3 };
  return runCommand(
    spec,
    argv,
    async () => {
      const { values, positionals } = parseCommand(spec, argv);
      const [sub, a, b] = positionals;
      if (!sub) {
        io.out.write(usage);
        return 0;
      }
      if (!(VERBS[group] as readonly string[]).includes(sub))
        throw new UsageError(`unknown subcommand "${sub}"`);
      const arity = sub === 'rotate' || sub === 'revoke' ? 2 : sub === 'list' && group === 'tenants' ? 0 : 1;
      const names = group === 'keys' ? ['TENANT', 'KEY_ID'] : ['ID'];
      if (positionals.length - 1 < arity) throw new UsageError(`missing ${names[positionals.length - 1]}`);
      if (positionals.length - 1 > arity)
        throw new UsageError(`unexpected argument "${positionals[arity + 1]}"`);
      const perms = values.permissions
        ?.split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      const call = await connectAdminApi(values);
      const id = encodeURIComponent(a ?? '');
      const keyId = encodeURIComponent(b ?? '');
      let out: unknown;
      if (group === 'tenants') {
        switch (sub) {
          case 'create':
            out = await call('POST', '/v1/admin/tenants', {
              tenant_id: a,
              ...(values.name ? { name: values.name } : {}),
              ...(values['db-user'] ? { db_user: values['db-user'] } : {}),
              ...(perms ? { permissions: perms } : {}),
            });
            break;
          case 'list':
            out = await call('GET', '/v1/admin/tenants?limit=100');
            break;
          case 'show':
            out = await call('GET', `/v1/admin/tenants/${id}`);
            break;
          case 'suspend':
          case 'resume':
            out = await call('PATCH', `/v1/admin/tenants/${id}`, {
              status: sub === 'suspend' ? 'suspended' : 'active',
            });
            break;
          default:
            out = (await call('DELETE', `/v1/admin/tenants/${id}`)) ?? { deleted: a };
        }
      } else {
        switch (sub) {
          case 'create':
            out = await call('POST', `/v1/admin/tenants/${id}/keys`, {
              ...(perms ? { permissions: perms } : {}),
              ...(values['expires-at'] ? { expires_at: values['expires-at'] } : {}),
            });
            break;
          case 'list':
            out = await call('GET', `/v1/admin/tenants/${id}/keys`);
            break;
          case 'rotate':
            out = await call('POST', `/v1/admin/tenants/${id}/keys/${keyId}/rotate`);
            break;
          default:
            out = (await call('DELETE', `/v1/admin/tenants/${id}/keys/${keyId}`)) ?? { revoked: b };
        }
      }
      io.out.write(`${values.json ? JSON.stringify(out) : JSON.stringify(out, null, 2)}\n`);
      return 0;
    },
    io,
    () => '--url or SPECTRA_URL',
  );
}
