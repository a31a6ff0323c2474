/**
 * `spectra serve` / `spectra worker` take their flags and help lines from the settings table: every
 * row with a flag is accepted (documented flags such as --warehouse and --warehouse-admin-url were
 * once rejected as unknown), shown in the help, and reaches loadConfig.
 */
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/cli/command.js';
import { serveFlags, serveOptions, serveUsage } from '../../../src/cli/serve-flags.js';
import { flagSettings, loadConfig, SETTINGS } from '../../../src/config/index.js';

const spec = () => ({ name: 'serve', usage: serveUsage(), options: serveOptions() });
const parse = (argv: string[]) => serveFlags(parseCommand(spec(), argv).values);

/** A value each flagged row's own schema accepts. */
const sample = (key: string, s: { default: unknown }) =>
  ({ port: '9090', metricsPort: '9464', logLevel: 'warn', warehouse: 'postgres', state: 'postgres' })[key] ??
  (typeof s.default === 'number' ? String(s.default + 1) : `/tmp/${key}`);

describe('spectra serve flags', () => {
  const rows = Object.entries(SETTINGS).filter(([, s]) => 'flag' in s && s.flag);

  it('covers the rows with a flag, and those are the historic flags plus the documented ones', () => {
    expect(rows.map(([, s]) => (s as { flag: string }).flag).sort()).toEqual(
      flagSettings()
        .map((s) => s.flag)
        .sort(),
    );
    expect(rows.length).toBeGreaterThanOrEqual(17);
  });

  it.each(rows)('%s: accepted, shown in the help, and read by loadConfig', (key, s) => {
    const { flag, env } = s as { flag: string; env: string };
    const usage = serveUsage();
    if (typeof s.default === 'boolean') {
      expect(usage).toMatch(new RegExp(`^  --no-${flag} .*\\(${env}=false\\)$`, 'm'));
      expect(loadConfig({}, parse([`--no-${flag}`]))[key as keyof typeof SETTINGS]).toBe(false);
      expect(loadConfig({ [env]: 'false' }, parse([`--${flag}`]))[key as keyof typeof SETTINGS]).toBe(true);
    } else {
      expect(usage).toMatch(new RegExp(`^  --${flag} [A-Z]+ .*\\(${env}[,)]`, 'm'));
      const value = sample(key, s);
      const flags = parse([`--${flag}`, value]);
      expect(flags[flag]).toBe(value);
      expect(() => loadConfig({}, flags)).not.toThrow();
    }
  });

  it('unknown flags are still refused', () => {
    expect(() => parse(['--bogus'])).toThrow(/unknown option --bogus/);
  });

  it('the help keeps the historic lines', () => {
    const usage = serveUsage();
    expect(usage).toMatch(/^Usage: spectra serve \[flags\]\n {7}spectra worker \[flags\]\n/);
    expect(usage).toContain('  --home DIR            state folder (SPECTRA_HOME, default ./.spectra)\n');
    expect(usage).toContain(
      '  --no-worker           serve the API only; async jobs wait for `spectra worker` processes (SPECTRA_WORKER=false)\n',
    );
    expect(usage).toContain(
      '  --result-dir DIR      result files, shared by API and workers (SPECTRA_RESULT_DIR, default HOME/results)\n',
    );
  });
});
