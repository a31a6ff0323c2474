/**
 * `spectra audit`: reads the audit trail of a running server through `GET /v1/admin/audit?order=desc`,
 * newest first, one JSON object per line (or a table with a header row with --table), stopping after
 * N entries. The server and admin key are found like `spectra tenants` finds them.
 */
import { connectAdminApi } from './admin-api.js';
import { type Io, intFlag, parseCommand, processIo, runCommand, UsageError } from './command.js';

export const AUDIT_USAGE = `Usage: spectra audit [--tenant ID] [--since TIME] [--until TIME] [--limit N] [--table]
  The audit trail of a running server, newest first.
    TIME is RFC 3339 or a duration back from now (30s, 15m, 2h, 7d); default: everything retained.
    --limit N   entries to print at most (default 100; 0 = all)
    --table     aligned columns with a header row instead of JSON lines
  common flags: --url URL (SPECTRA_URL), --admin-key KEY (SPECTRA_ADMIN_KEY), --home DIR (SPECTRA_HOME)
`;

const PAGE_SIZE = 1000;

/** RFC 3339 passes through; `90s`, `15m`, `2h`, `7d` mean that long before `now`. */
export function parseTimeArg(value: string, now: Date = new Date()): string {
  const rel = /^(\d+)\s*([smhd])$/.exec(value.trim());
  if (rel) {
    const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(rel[1]) * unit).toISOString();
  }
  if (Number.isNaN(Date.parse(value))) throw new UsageError(`not a time or duration: ${value}`);
  return new Date(value).toISOString();
}

type Entry = Record<string, unknown>;

const TABLE_COLUMNS: [string, (e: Entry) => string, number][] = [
  ['at', (e) => String(e.at ?? ''), 24],
  ['tenant', (e) => String(e.tenant_id ?? ''), 10],
  ['method', (e) => String(e.method ?? ''), 6],
  ['route', (e) => String(e.route ?? ''), 24],
  ['status', (e) => String(e.status ?? ''), 6],
  ['outcome', (e) => String(e.error_code ?? e.outcome ?? ''), 14],
  ['job_id', (e) => String(e.job_id ?? ''), 0],
  [
    'sql',
    (e) =>
      String(e.sql ?? '')
        .replace(/\s+/g, ' ')
        .slice(0, 60),
    0,
  ],
];

export function auditTableHeader(): string {
  return TABLE_COLUMNS.map(([name, , w]) => name.padEnd(w))
    .join('  ')
    .trimEnd();
}

export function auditTableLine(e: Entry): string {
  return TABLE_COLUMNS.map(([, get, w]) => get(e).padEnd(w))
    .join('  ')
    .trimEnd();
}

const spec = {
  name: 'audit',
  usage: AUDIT_USAGE,
  options: {
    url: { type: 'string' },
    'admin-key': { type: 'string' },
    home: { type: 'string' },
    tenant: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
    table: { type: 'boolean' },
    json: { type: 'boolean' },
  },
} as const;

export function runAuditCommand(argv: string[], io: Io = processIo()): Promise<number> {
  return runCommand(
    spec,
    argv,
    async () => {
      const { values } = parseCommand(spec, argv);
      const max = intFlag('limit', values.limit, 0, 100);
      const now = new Date();
      const since = values.since ? parseTimeArg(values.since, now) : undefined;
      const until = values.until ? parseTimeArg(values.until, now) : now.toISOString();
      const call = await connectAdminApi(values);

      const params = new URLSearchParams({ order: 'desc', until });
      if (values.tenant) params.set('tenant_id', values.tenant);
      if (since) params.set('since', since);
      let printed = 0;
      let cursor: string | null = null;
      do {
        params.set('limit', String(max > 0 ? Math.min(PAGE_SIZE, max - printed) : PAGE_SIZE));
        if (cursor) params.set('cursor', cursor);
        const body = (await call('GET', `/v1/admin/audit?${params}`)) as {
          entries?: Entry[];
          next_cursor?: string | null;
        };
        // The header follows the first answer: a failing server prints nothing on stdout.
        if (values.table && cursor === null) io.out.write(`${auditTableHeader()}\n`);
        for (const e of body.entries ?? [])
          io.out.write(`${values.table ? auditTableLine(e) : JSON.stringify(e)}\n`);
        printed += body.entries?.length ?? 0;
        cursor = body.next_cursor ?? null;
      } while (cursor && (max === 0 || printed < max));
      return 0;
    },
    io,
    () => '--url or SPECTRA_URL',
  );
}
