/**
 * `spectra tenants …` and `spectra keys …`: clients of the admin API of a running server. The
 * server is found through `--url` / `SPECTRA_URL` or `SPECTRA_HOME/server.json` (written by
 * `spectra serve`); the admin key through `--admin-key` / `SPECTRA_ADMIN_KEY` or
 * `SPECTRA_HOME/credentials.json`.
 */
import { parseArgs } from 'node:util';
import { CliError, connectAdminApi, reportCliErrors } from './admin-api.js';

export const ADMIN_USAGE = `Tenants and keys (talk to a running server's admin API):
  spectra tenants create ID [--name NAME] [--db-user ROLE] [--permissions p1,p2]
  spectra tenants list
  spectra tenants show ID
  spectra tenants suspend ID | resume ID | delete ID
  spectra keys create TENANT [--permissions p1,p2] [--expires-at RFC3339]
  spectra keys list TENANT
  spectra keys rotate TENANT KEY_ID
  spectra keys revoke TENANT KEY_ID
  common flags: --url URL (SPECTRA_URL), --admin-key KEY (SPECTRA_ADMIN_KEY), --home DIR (SPECTRA_HOME), --json
`;

export async function runAdminCommand(group: 'tenants' | 'keys', argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    process.stderr.write(`spectra: ${(e as Error).message}\n\n${ADMIN_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  return reportCliErrors(async () => {
    const call = await connectAdminApi(values);
    const [verb, a, b] = positionals;
    const need = (v: string | undefined, what: string) => {
      if (!v) throw new CliError(`missing ${what}\n\n${ADMIN_USAGE}`);
      return encodeURIComponent(v);
    };
    const perms = values.permissions
      ?.split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    let out: unknown;
    if (group === 'tenants') {
      switch (verb) {
        case 'create':
          out = await call('POST', '/v1/admin/tenants', {
            tenant_id: a ?? need(a, 'tenant id'),
            ...(values.name ? { name: values.name } : {}),
            ...(values['db-user'] ? { db_user: values['db-user'] } : {}),
            ...(perms ? { permissions: perms } : {}),
          });
          break;
        case 'list':
          out = await call('GET', '/v1/admin/tenants?limit=100');
          break;
        case 'show':
          out = await call('GET', `/v1/admin/tenants/${need(a, 'tenant id')}`);
          break;
        case 'suspend':
        case 'resume':
          out = await call('PATCH', `/v1/admin/tenants/${need(a, 'tenant id')}`, {
            status: verb === 'suspend' ? 'suspended' : 'active',
          });
          break;
        case 'delete':
          out = (await call('DELETE', `/v1/admin/tenants/${need(a, 'tenant id')}`)) ?? { deleted: a };
          break;
        default:
          throw new CliError(`unknown command "tenants ${verb ?? ''}"\n\n${ADMIN_USAGE}`);
      }
    } else {
      switch (verb) {
        case 'create':
          out = await call('POST', `/v1/admin/tenants/${need(a, 'tenant id')}/keys`, {
            ...(perms ? { permissions: perms } : {}),
            ...(values['expires-at'] ? { expires_at: values['expires-at'] } : {}),
          });
          break;
        case 'list':
          out = await call('GET', `/v1/admin/tenants/${need(a, 'tenant id')}/keys`);
          break;
        case 'rotate':
          out = await call(
            'POST',
            `/v1/admin/tenants/${need(a, 'tenant id')}/keys/${need(b, 'key id')}/rotate`,
          );
          break;
        case 'revoke':
          out = (await call(
            'DELETE',
            `/v1/admin/tenants/${need(a, 'tenant id')}/keys/${need(b, 'key id')}`,
          )) ?? {
            revoked: b,
          };
          break;
        default:
          throw new CliError(`unknown command "keys ${verb ?? ''}"\n\n${ADMIN_USAGE}`);
      }
    }
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  });
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'admin-key': { type: 'string' },
      home: { type: 'string' },
      name: { type: 'string' },
      'db-user': { type: 'string' },
      permissions: { type: 'string' },
      'expires-at': { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
}
