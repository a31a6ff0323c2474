/** Prints the settings table of docs/configuration.md from src/config (run: npx tsx scripts/config-docs.ts). */
import { settingsTable } from '../src/config/index.js';

export function renderSettingsTable(): string {
  const rows = settingsTable().map(
    (s) => `| \`${s.env}\` | ${s.flag ? `\`${s.flag}\`` : ''} | \`${s.default === '' ? '(empty)' : s.default}\` | ${s.doc} |`,
  );
  return ['| variable | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${renderSettingsTable()}\n`);
