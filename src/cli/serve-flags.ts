/**
 * The flags and help of `spectra serve` and `spectra worker`, derived from the settings rows that
 * have a flag: a string option per row, and for a boolean row the flag and its `--no-` negation.
 */
import { type Flags, flagSettings, type Setting } from '../config/index.js';

type FlagSetting = Setting & { flag: string };

const isBoolean = (s: FlagSetting) => typeof s.default === 'boolean';

/** The parseArgs options of the server commands. */
export function serveOptions(): Record<string, { type: 'string' | 'boolean' }> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const s of flagSettings()) {
    if (isBoolean(s)) {
      options[s.flag] = { type: 'boolean' };
      options[`no-${s.flag}`] = { type: 'boolean' };
    } else options[s.flag] = { type: 'string' };
  }
  return options;
}

/** Parsed values → loadConfig flags: `--no-<flag>` sets the row's flag to false. */
export function serveFlags(values: Record<string, string | boolean | undefined>): Flags {
  const flags: Flags = { ...values };
  for (const s of flagSettings()) {
    if (isBoolean(s) && values[`no-${s.flag}`]) flags[s.flag] = false;
  }
  return flags;
}

function helpLine(s: FlagSetting): string {
  if (!s.cli) throw new Error(`the setting ${s.env} has a flag but no help line`);
  if (isBoolean(s)) {
    const [flag, value] = s.default ? [`--no-${s.flag}`, false] : [`--${s.flag}`, true];
    return `  ${flag.padEnd(20)}  ${s.cli.help} (${s.env}=${value})`;
  }
  const shown = s.cli.shownDefault ?? String(s.default);
  const where = shown ? `${s.env}, default ${shown}` : s.env;
  return `  ${`--${s.flag} ${s.cli.arg ?? 'VALUE'}`.padEnd(20)}  ${s.cli.help} (${where})`;
}

export function serveUsage(): string {
  return `Usage: spectra serve [flags]
       spectra worker [flags]
Flags (each also settable as an environment variable, see docs/configuration.md):
${flagSettings().map(helpLine).join('\n')}

\`spectra worker\` takes the same flags (without the HTTP ones); with no --warehouse-url/--state-url it
attaches to the embedded PostgreSQL of a \`spectra serve\` running in the same --home.
`;
}
