/**
 * `npm run build` (and `prepare`): compiles src/ into dist/ with tsc and the web console into
 * dist/console with esbuild (build-console.mjs). Earlier output goes first so a
 * deleted or renamed source leaves no stale module in the package; dist/lambda (`npm run
 * build:lambda`) and dist/cdk.out (`cdk synth`) are other tools' output and stay.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const OTHER_OUTPUT = new Set(['lambda', 'cdk.out']);
if (existsSync(dist)) {
  for (const entry of readdirSync(dist))
    if (!OTHER_OUTPUT.has(entry)) rmSync(path.join(dist, entry), { recursive: true });
}
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (run.status !== 0) process.exit(run.status ?? 1);
const { buildConsole, CONSOLE_SOURCE } = await import('./build-console.mjs');
// A published package has dist/console already and no console/ sources to build from.
if (existsSync(CONSOLE_SOURCE)) await buildConsole();
