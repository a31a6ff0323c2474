#!/usr/bin/env node
// Runs the compiled code in dist/ (`npm run build`; `npm install` and `npm ci` build it through
// `prepare`). In a clone without dist/, and under vitest (so tests exercise the sources they test,
// never a stale build), it runs src/ through tsx, a development dependency.
import { existsSync, readFileSync } from 'node:fs';
import module from 'node:module';

// Node 22+ keeps compiled code between runs (a faster start); Node 20 has no such cache.
module.enableCompileCache?.();

const VERSION_ARGS = ['--version', '-v', '-V', 'version'];

if (VERSION_ARGS.includes(process.argv[2])) {
  // Answered from package.json before tsx or any CLI module loads: a bare Node start plus one file read.
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${version}\n`);
} else {
  await runCommand();
}

async function runCommand() {
  const compiled = new URL('../dist/cli/main.js', import.meta.url);
  const source = new URL('../src/cli/main.ts', import.meta.url);
  const fromSource = existsSync(source) && (!existsSync(compiled) || process.env.VITEST !== undefined);
  let entry = compiled;
  if (fromSource) {
    try {
      (await import('tsx/esm/api')).register();
      entry = source;
    } catch {
      if (!existsSync(compiled)) {
        process.stderr.write(
          'spectra: dist/ is missing and tsx is not installed: run `npm install` (it builds)\n',
        );
        process.exit(1);
      }
    }
  } else if (!existsSync(compiled)) {
    process.stderr.write('spectra: dist/ is missing: run `npm run build`\n');
    process.exit(1);
  }
  const { main } = await import(entry.href);
  main(process.argv.slice(2), { beforeServe: buildConsoleIfMissing }).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`spectra: ${err?.stack ?? err}\n`);
      process.exit(1);
    },
  );
}

/** `npm start` in a clone: the web console (served at /console) is built when a server first starts. */
async function buildConsoleIfMissing() {
  const consoleSource = new URL('../console/src/main.tsx', import.meta.url);
  const consoleBuilt = new URL('../dist/console/index.html', import.meta.url);
  if (!existsSync(consoleSource) || existsSync(consoleBuilt)) return;
  try {
    await (await import('../scripts/build-console.mjs')).buildConsole();
  } catch (err) {
    process.stderr.write(
      `spectra: the web console could not be built (${err?.message ?? err}); /console is off\n`,
    );
  }
}
