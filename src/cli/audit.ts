/**
 * `spectra audit`: reads the audit trail of a running server through `GET /v1/admin/audit`, one
 * JSON object per line (or a short table with --table), following `next_cursor` up to --limit.
 * The server and admin key are found like `spectra tenants` finds them: --url / SPECTRA_URL or
 * SPECTRA_HOME/server.json, --admin-key / SPECTRA_ADMIN_KEY or SPECTRA_HOME/credentials.json.
 */
import { parseArgs } from 'node:util';
import { CliError, connectAdminApi, reportCliErrors } from './admin-api.js';

export const AUDIT_USAGE = `Audit trail (talks to a running server's admin API):
  spectra audit [--tenant ID] [--since TIME] [--until TIME] [--limit N] [--table]
    TIME is RFC 3339 or a duration back from now (30s, 15m, 2h, 7d); default: everything retained.
    --limit N   entries to print at most (default 100; 0 = all)
  common flags: --url URL (SPECTRA_URL), --admin-key KEY (SPECTRA_ADMIN_KEY), --home DIR (SPECTRA_HOME)
`;

const PAGE_SIZE = 500;

/** RFC 3339 passes through; `90s`, `15m`, `2h`, `7d` mean that long before `now`. */
export function parseTimeArg(value: string, now: Date = new Date()): string {
  const rel = /^(\d+)\s*([smhd])$/.exec(value.trim());
  if (rel) {
    const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(rel[1]) * unit).toISOString();
  }
  if (Number.isNaN(Date.parse(value))) throw new CliError(`not a time or duration: ${value}`);
  return new Date(value).toISOString();
}

type Entry = Record<string, unknown>;

function tableLine(e: Entry): string {
  const cells = [
    String(e.at ?? ''),
    String(e.tenant_id ?? '').padEnd(10),
    String(e.method ?? '').padEnd(6),
    String(e.route ?? '').padEnd(24),
    String(e.status ?? ''),
    String(e.error_code ?? e.outcome ?? ''),
    String(e.job_id ?? ''),
    String(e.sql ?? '')
      .replace(/\s+/g, ' ')
      .slice(0, 60),
  ];
  return cells.join('  ');
}

export async function runAuditCommand(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (e) {
    process.stderr.write(`spectra: ${(e as Error).message}\n\n${AUDIT_USAGE}`);
    return 2;
  }
  return reportCliErrors(async () => {
    const call = await connectAdminApi(values);
    const max = values.limit === undefined ? 100 : Number(values.limit);
    if (!Number.isInteger(max) || max < 0) throw new CliError('--limit must be a non-negative integer');
    const params = new URLSearchParams();
    if (values.tenant) params.set('tenant_id', values.tenant);
    if (values.since) params.set('since', parseTimeArg(values.since));
    if (values.until) params.set('until', parseTimeArg(values.until));
    let printed = 0;
    let cursor: string | null = null;
    do {
      const want = max === 0 ? PAGE_SIZE : Math.min(PAGE_SIZE, max - printed);
      params.set('limit', String(want));
      if (cursor) params.set('cursor', cursor);
      const body = (await call('GET', `/v1/admin/audit?${params}`)) as {
        entries?: Entry[];
        next_cursor?: string | null;
      };
      for (const e of body.entries ?? []) {
        process.stdout.write(`${values.table ? tableLine(e) : JSON.stringify(e)}\n`);
        printed++;
      }
      cursor = body.next_cursor ?? null;
    } while (cursor && (max === 0 || printed < max));
    return 0;
  });
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      'admin-key': { type: 'string' },
      home: { type: 'string' },
      tenant: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      table: { type: 'boolean' },
    },
    strict: true,
  });
}
