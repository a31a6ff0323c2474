/**
 * `spectra audit`: reads the audit trail of a running server through `GET /v1/admin/audit`, newest
 * first, one JSON object per line (or a table with a header row with --table). The API pages oldest
 * first from `since`, so the newest N are found by reading growing windows back from now until N
 * entries (or the whole requested range) are in. The server and admin key are found like
 * `spectra tenants` finds them.
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
/** Look-back windows tried in turn (ms); the last one is the whole requested range. */
const WINDOWS_MS = [15 * 60e3, 3.6e6, 24 * 3.6e6, 7 * 24 * 3.6e6, 30 * 24 * 3.6e6];

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

      /** The newest `max` entries (all when 0) in [from, until), oldest first. */
      const read = async (from: string | undefined): Promise<Entry[]> => {
        const params = new URLSearchParams({ limit: String(PAGE_SIZE), until });
        if (values.tenant) params.set('tenant_id', values.tenant);
        if (from) params.set('since', from);
        const kept: Entry[] = [];
        let cursor: string | null = null;
        do {
          if (cursor) params.set('cursor', cursor);
          const body = (await call('GET', `/v1/admin/audit?${params}`)) as {
            entries?: Entry[];
            next_cursor?: string | null;
          };
          for (const e of body.entries ?? []) {
            kept.push(e);
            if (max > 0 && kept.length > max) kept.shift();
          }
          cursor = body.next_cursor ?? null;
        } while (cursor);
        return kept;
      };

      let entries: Entry[] = [];
      const end = Date.parse(until);
      for (const windowMs of max > 0
        ? [...WINDOWS_MS, Number.POSITIVE_INFINITY]
        : [Number.POSITIVE_INFINITY]) {
        const windowStart = Number.isFinite(windowMs) ? new Date(end - windowMs).toISOString() : undefined;
        const reachesSince = !windowStart || (since !== undefined && windowStart <= since);
        entries = await read(reachesSince ? since : windowStart);
        if (reachesSince || entries.length >= max) break;
      }
      entries.reverse();
      if (values.table) io.out.write(`${auditTableHeader()}\n`);
      for (const e of entries) io.out.write(`${values.table ? auditTableLine(e) : JSON.stringify(e)}\n`);
      return 0;
    },
    io,
    () => '--url or SPECTRA_URL',
  );
}
