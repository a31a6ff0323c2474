/**
 * `npm run build:lambda`: one minified ESM bundle per Lambda function (api, authorizer, worker) in
 * dist/lambda/<fn>/index.mjs, plus the files a bundle reads from disk at run time (the SQL parser's
 * WASM, the Swagger UI assets). Prints each bundle's size and its module init time, measured by
 * importing it in a fresh `node` from a copy outside the project (so nothing resolves from the
 * project's node_modules).
 *
 *   npm run build:lambda                      build and measure
 *   npm run build:lambda -- --sdk=external    leave @aws-sdk/* and @smithy/* out (Lambda's runtime copy)
 *   npm run build:lambda -- --no-measure      build only
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';

export type LambdaFunctionName = 'api' | 'authorizer' | 'worker';
export const LAMBDA_FUNCTIONS: readonly LambdaFunctionName[] = ['api', 'authorizer', 'worker'];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/**
 * ESM bundles of CommonJS code still reach for `require`, `__filename` and `__dirname`
 * (libpg-query's Emscripten loader finds its .wasm through `__dirname`).
 */
const BANNER = [
  "import { createRequire as __spectraCreateRequire } from 'node:module';",
  "import { fileURLToPath as __spectraFileURLToPath } from 'node:url';",
  "import { dirname as __spectraDirname } from 'node:path';",
  'const require = __spectraCreateRequire(import.meta.url);',
  'const __filename = __spectraFileURLToPath(import.meta.url);',
  'const __dirname = __spectraDirname(__filename);',
].join('\n');

/** src/runtime/version.ts reads ../../package.json at run time; a bundle has none, so the version is inlined. */
function inlineVersion(): Plugin {
  const { version } = require(path.join(ROOT, 'package.json')) as { version: string };
  return {
    name: 'spectra-inline-version',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]runtime[\\/]version\.ts$/ }, () => ({
        contents: `export const VERSION = ${JSON.stringify(version)};`,
        loader: 'ts',
      }));
    },
  };
}

/** Files a bundle reads at run time: [source, destination relative to the bundle's folder]. */
function runtimeAssets(fn: LambdaFunctionName): [string, string][] {
  const wasm = path.join(path.dirname(require.resolve('libpg-query')), 'libpg-query.wasm');
  const assets: [string, string][] = [[wasm, 'libpg-query.wasm']];
  if (fn === 'api') {
    // src/http/routes/system.ts resolves swagger-ui-dist/package.json and serves two files beside it.
    const swagger = path.dirname(require.resolve('swagger-ui-dist/package.json'));
    for (const file of ['package.json', 'swagger-ui.css', 'swagger-ui-bundle.js']) {
      assets.push([path.join(swagger, file), path.join('node_modules', 'swagger-ui-dist', file)]);
    }
  }
  return assets;
}

export interface LambdaBuildOptions {
  outDir?: string;
  /** `bundled` (default): the AWS SDK v3 code we were tested with ships in the bundle. */
  sdk?: 'bundled' | 'external';
  functions?: readonly LambdaFunctionName[];
}

export interface BuiltBundle {
  name: LambdaFunctionName;
  dir: string;
  file: string;
  bundleBytes: number;
  /** Bundle plus runtime assets, i.e. the unzipped deployment package. */
  packageBytes: number;
  /** Largest inputs by bytes in the bundle. */
  topInputs: { path: string; bytes: number }[];
}

export async function buildLambdas(options: LambdaBuildOptions = {}): Promise<BuiltBundle[]> {
  const outDir = options.outDir ?? path.join(ROOT, 'dist', 'lambda');
  const external = ['pg-native'];
  if (options.sdk === 'external') external.push('@aws-sdk/*', '@smithy/*');
  const built: BuiltBundle[] = [];
  for (const name of options.functions ?? LAMBDA_FUNCTIONS) {
    const dir = path.join(outDir, name);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'index.mjs');
    const result = await build({
      entryPoints: [path.join(ROOT, 'src', 'runtime', 'lambda', `${name}.ts`)],
      outfile: file,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      minify: true,
      sourcemap: false,
      legalComments: 'external',
      banner: { js: BANNER },
      external,
      metafile: true,
      plugins: [inlineVersion()],
      logLevel: 'warning',
    });
    for (const [from, to] of runtimeAssets(name)) {
      await mkdir(path.dirname(path.join(dir, to)), { recursive: true });
      await cp(from, path.join(dir, to));
    }
    await writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n');
    built.push({
      name,
      dir,
      file,
      bundleBytes: (await stat(file)).size,
      packageBytes: await folderBytes(dir),
      topInputs: topInputs(result.metafile),
    });
  }
  return built;
}

/** Median time of `await import(bundle)` in a fresh node process, from a copy outside the project. */
export async function measureInitMs(bundle: BuiltBundle, runs = 5): Promise<number> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), `spectra-lambda-${bundle.name}-`));
  try {
    await cp(bundle.dir, tmp, { recursive: true });
    const url = pathToFileURL(path.join(tmp, 'index.mjs')).href;
    const script =
      'const t = performance.now(); const m = await import(process.argv[1]);' +
      " if (typeof m.handler !== 'function') throw new Error('no handler export');" +
      ' process.stdout.write(String(performance.now() - t));';
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, url], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, POWERTOOLS_METRICS_DISABLED: 'true' },
      });
      if (r.status !== 0) throw new Error(`importing ${bundle.name} failed:\n${r.stderr}`);
      times.push(Number(r.stdout));
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function topInputs(meta: Metafile, n = 6): { path: string; bytes: number }[] {
  const output = Object.entries(meta.outputs).find(([file]) => file.endsWith('.mjs'))?.[1];
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = m ? m[1]! : 'src (ours)';
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
  }
  return [...byPackage.entries()]
    .map(([p, bytes]) => ({ path: p, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, n);
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const sdk = args.has('--sdk=external') ? 'external' : 'bundled';
  const bundles = await buildLambdas({ sdk });
  for (const b of bundles) {
    const init = args.has('--no-measure') ? null : await measureInitMs(b);
    const line = [
      `${b.name.padEnd(10)} ${path.relative(ROOT, b.file)}`,
      `bundle ${kb(b.bundleBytes)}`,
      `package ${kb(b.packageBytes)}`,
      init === null ? '' : `init ${init.toFixed(0)} ms (median of 5)`,
    ];
    process.stdout.write(`${line.filter(Boolean).join('  ')}\n`);
    process.stdout.write(
      `           largest: ${b.topInputs.map((i) => `${i.path} ${kb(i.bytes)}`).join(', ')}\n`,
    );
  }
  if (sdk === 'external')
    process.stdout.write('AWS SDK left external: bundles rely on the Lambda runtime copy\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
