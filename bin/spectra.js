#!/usr/bin/env node
// Runs the compiled code in dist/ (`npm run build`; `npm install` and `npm ci` build it through
// `prepare`). From a clone without dist/, and under vitest (so tests exercise the sources they
// test, never a stale build), it runs src/ through tsx, a development dependency.
import { existsSync } from 'node:fs';

process.setSourceMapsEnabled(true);
const compiled = new URL('../dist/cli/main.js', import.meta.url);
const fromSource = !existsSync(compiled) || process.env.VITEST !== undefined;
let main;
if (fromSource) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('spectra: dist/ is missing and tsx is not installed: run `npm run build` first\n');
    process.exit(1);
  }
  register();
  ({ main } = await import('../src/cli/main.ts'));
} else {
  ({ main } = await import(compiled.href));
}
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`spectra: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
