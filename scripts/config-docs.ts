/**
 * The settings tables of docs/configuration.md, one per config section, generated from src/config.
 *   npx tsx scripts/config-docs.ts          prints it
 *   npx tsx scripts/config-docs.ts --write  rewrites the table in docs/configuration.md (between its markers)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { settingsTable } from '../src/config/index.js';

export function renderSettingsTable(): string {
  const rows = settingsTable();
  const sections = [...new Set(rows.map((s) => s.section))];
  return sections
    .map((section) =>
      [
        `### ${section}`,
        '',
        '| variable | flag | default | meaning |',
        '|---|---|---|---|',
        ...rows
          .filter((s) => s.section === section)
          .map(
            (s) =>
              `| \`${s.env}\` | ${s.flag ? `\`${s.flag}\`` : ''} | \`${s.default === '' ? '(empty)' : s.default}\` | ${s.doc} |`,
          ),
      ].join('\n'),
    )
    .join('\n\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) {
    const file = path.resolve(import.meta.dirname, '../docs/configuration.md');
    const doc = readFileSync(file, 'utf8');
    const begin = '<!-- settings:begin -->';
    const end = '<!-- settings:end -->';
    const i = doc.indexOf(begin);
    const j = doc.indexOf(end);
    if (i < 0 || j < i) throw new Error(`markers ${begin} / ${end} not found in ${file}`);
    writeFileSync(file, `${doc.slice(0, i + begin.length)}\n${renderSettingsTable()}\n${doc.slice(j)}`);
  } else process.stdout.write(`${renderSettingsTable()}\n`);
}
