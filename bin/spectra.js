#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader: no build step between clone and start.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`spectra: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
