/** `spectra tables` and `spectra describe TABLE`: what the caller's tenant can read (GET /v1/catalog/tables). */
import { type Io, parseCommand, printJson, processIo, runCommand, UsageError } from './command.js';
import { connect, targetFlags } from './connect.js';
import { TARGET_OPTIONS, TARGET_USAGE } from './profiles.js';
import { renderTable } from './row-format.js';

export const TABLES_USAGE = `Usage: spectra tables
  Lists the tables and views your tenant can read, with their column count and row estimate.
${TARGET_USAGE}`;

export const DESCRIBE_USAGE = `Usage: spectra describe TABLE
  The columns of one table (name, Redshift type, nullable, primary key).
${TARGET_USAGE}`;

const tablesSpec = { name: 'tables', usage: TABLES_USAGE, options: { ...TARGET_OPTIONS } } as const;
const describeSpec = {
  name: 'describe',
  usage: DESCRIBE_USAGE,
  positionals: 1,
  options: { ...TARGET_OPTIONS },
} as const;

export function runTablesCommand(argv: string[], io: Io = processIo()): Promise<number> {
  const hint: { source?: string } = {};
  return runCommand(
    tablesSpec,
    argv,
    async () => {
      const { values } = parseCommand(tablesSpec, argv);
      const { client } = await connect(targetFlags(values), io, hint);
      const tables = await client.catalog.tables();
      if (values.json) {
        printJson(io, { tables });
        return 0;
      }
      io.out.write(
        renderTable(
          ['table', 'kind', 'columns', 'rows (estimate)', 'description'],
          tables.map((t) => ({
            table: t.schema === 'public' ? t.name : `${t.schema}.${t.name}`,
            kind: t.kind,
            columns: t.columns.length,
            'rows (estimate)': t.row_estimate ?? '',
            description: t.description ?? '',
          })),
        ),
      );
      return 0;
    },
    io,
    () => hint.source ?? '--url or SPECTRA_URL',
  );
}

export function runDescribeCommand(argv: string[], io: Io = processIo()): Promise<number> {
  const hint: { source?: string } = {};
  return runCommand(
    describeSpec,
    argv,
    async () => {
      const { values, positionals } = parseCommand(describeSpec, argv);
      const name = positionals[0];
      if (!name) throw new UsageError('missing TABLE');
      const { client } = await connect(targetFlags(values), io, hint);
      const table = await client.catalog.table(name);
      if (values.json) {
        printJson(io, table);
        return 0;
      }
      io.out.write(
        `${table.schema}.${table.name} (${table.kind})${table.description ? `: ${table.description}` : ''}\n\n`,
      );
      const pk = new Set(table.primary_key);
      io.out.write(
        renderTable(
          ['column', 'type', 'nullable', 'key'],
          table.columns.map((c) => ({
            column: c.name,
            type: c.type,
            nullable: c.nullable ? 'yes' : 'no',
            key: pk.has(c.name) ? 'PK' : '',
          })),
        ),
      );
      return 0;
    },
    io,
    () => hint.source ?? '--url or SPECTRA_URL',
  );
}
