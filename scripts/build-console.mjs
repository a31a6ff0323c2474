/**
 * Builds the web console (console/) into dist/console with esbuild: one minified ES module bundle, its
 * CSS, and index.html. Written to a temporary folder and renamed into place, so a server reading
 * dist/console never sees half a build. Prints the gzip-compressed JavaScript size (issue 19: ≤ 300 KB).
 * `node scripts/build-console.mjs [outdir]`, or `buildConsole(outdir)` from build.mjs and the tests.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_SOURCE = path.join(root, 'console');
export const CONSOLE_DIST = path.join(root, 'dist', 'console');
const MAX_COMPRESSED_JS = 300 * 1024;

/** @returns {Promise<{ outdir: string, jsBytes: number, jsGzipBytes: number }>} */
export async function buildConsole(outdir = CONSOLE_DIST, { quiet = false } = {}) {
  const esbuild = await import('esbuild');
  const tmp = `${outdir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    const result = await esbuild.build({
      entryPoints: { app: path.join(CONSOLE_SOURCE, 'src', 'main.tsx') },
      bundle: true,
      minify: true,
      format: 'esm',
      target: ['es2022'],
      outdir: tmp,
      jsx: 'automatic',
      jsxImportSource: 'preact',
      legalComments: 'none',
      logLevel: 'warning',
      entryNames: '[name]-[hash]',
      metafile: true,
    });
    // index.html names the unhashed bundles; the served copy names the content-hashed (immutable) ones.
    let html = readFileSync(path.join(CONSOLE_SOURCE, 'index.html'), 'utf8');
    for (const output of Object.keys(result.metafile.outputs)) {
      const file = path.basename(output);
      html = html.replace(`/console/${file.replace(/-[A-Z0-9]{8}\./, '.')}`, `/console/${file}`);
    }
    writeFileSync(path.join(tmp, 'index.html'), html);
    copyFileSync(path.join(CONSOLE_SOURCE, 'favicon.svg'), path.join(tmp, 'favicon.svg'));
    let jsBytes = 0;
    let jsGzipBytes = 0;
    for (const file of readdirSync(tmp)) {
      if (!file.endsWith('.js')) continue;
      const body = readFileSync(path.join(tmp, file));
      jsBytes += body.length;
      jsGzipBytes += gzipSync(body, { level: 9 }).length;
    }
    if (jsGzipBytes > MAX_COMPRESSED_JS)
      throw new Error(
        `console JavaScript is ${jsGzipBytes} bytes gzipped, over the ${MAX_COMPRESSED_JS} budget`,
      );
    rmSync(outdir, { recursive: true, force: true });
    renameSync(tmp, outdir);
    if (!quiet)
      // stderr: `npm pack --json` runs prepare and parses its stdout.
      process.stderr.write(
        `console: ${path.relative(root, outdir)} — JavaScript ${(jsBytes / 1024).toFixed(1)} KB, ${(jsGzipBytes / 1024).toFixed(1)} KB gzipped (budget 300 KB)\n`,
      );
    return { outdir, jsBytes, jsGzipBytes };
  } finally {
    if (existsSync(tmp)) rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ? path.resolve(process.argv[2]) : CONSOLE_DIST;
  buildConsole(outdir).catch((err) => {
    process.stderr.write(`build-console: ${err?.message ?? err}\n`);
    process.exit(1);
  });
}
