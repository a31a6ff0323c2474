/**
 * `npm run build:lambda`: one minified ESM bundle per Lambda function (api, authorizer, worker) in
 * dist/lambda/<fn>/index.mjs, plus the files a bundle reads from disk at run time (the SQL parser's
 * and the Parquet writer's WASM, each only beside a bundle that contains it; the Swagger UI assets). Each bundle is
 * checked from esbuild's metafile against BUNDLE_RULES (what it must not contain, its zipped size);
 * a broken rule fails the build. Prints each bundle's size, its zipped package size and its module
 * init time, measured by importing it in a fresh `node` from a copy outside the project (so nothing
 * resolves from the project's node_modules).
 *
 *   npm run build:lambda                      build and measure
 *   npm run build:lambda -- --sdk=external    leave @aws-sdk/* and @smithy/* out (Lambda's runtime copy)
 *   npm run build:lambda -- --no-measure      build only
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deflateRawSync } from 'node:zlib';
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

/**
 * The API function has no Parquet writer: its WASM (1.6 MB zipped) would put the package over
 * MAX_ZIP_BYTES. It serves the Parquet file the worker wrote for a job submitted with
 * `output_format: "parquet"`, and answers any other `?format=parquet` with a documented refusal.
 */
function parquetLeftOut(): Plugin {
  return {
    name: 'spectra-parquet-left-out',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]formats[\\/]parquet\.ts$/ }, (args) => ({
        contents: `import { invalidRequest } from '../domain/errors.js';
export class ParquetStreamWriter {
  constructor() {
    throw invalidRequest(${JSON.stringify(PARQUET_LEFT_OUT_MESSAGE)}, {
      field: 'format',
      bulk: { method: 'POST', path: '/v1/bulk/jobs', content_type: 'PARQUET' },
    });
  }
}`,
        loader: 'ts',
        resolveDir: path.dirname(args.path),
      }));
    },
  };
}

export const PARQUET_LEFT_OUT_MESSAGE =
  'Parquet downloads on the serverless API are written by the worker: submit the job with "output_format": "parquet", or export with POST /v1/bulk/jobs {"operation": "query", "query": …, "content_type": "PARQUET"}';

/** Largest zipped deployment package of any function (the acceptance of issue 17). */
export const MAX_ZIP_BYTES = 3 * 1024 * 1024;

/**
 * What a function's bundle must not contain (substrings of esbuild's input paths) and, where it has
 * one, its size cap: the authorizer only reads tenants and API keys, so no SQL planner, WASM parser
 * or S3 client ships with it, and it stays small enough for a fast cold start (issue 17: 1.2 MB).
 */
export const BUNDLE_RULES: Record<LambdaFunctionName, { forbidden: string[]; maxBundleBytes?: number }> = {
  api: { forbidden: ['aws-cdk-lib', 'infra/', 'node_modules/parquet-wasm/', 'node_modules/apache-arrow/'] },
  authorizer: {
    forbidden: [
      'aws-cdk-lib',
      'infra/',
      'node_modules/pgsql-deparser/',
      'node_modules/libpg-query/',
      'node_modules/@aws-sdk/client-s3/',
      'src/sql/',
    ],
    maxBundleBytes: 1_200_000,
  },
  // The worker opens the ports alone (runtime/ports.ts); its Data API adapter still scans SQL with the parser.
  worker: {
    forbidden: [
      'aws-cdk-lib',
      'infra/',
      'src/runtime/core.ts',
      'src/sql/planner',
      'src/services/query-service.ts',
      'src/services/job-service.ts',
      'src/services/bulk-lifecycle.ts',
      'src/services/tenant-service.ts',
      'src/auth/',
    ],
  },
};

/** The SQL parser's Emscripten module, which loads libpg-query.wasm from beside the bundle. */
const PARSER_INPUT = 'node_modules/libpg-query/';
/** The Parquet writer's Node build, which reads parquet_wasm_bg.wasm from beside the bundle when first imported. */
const PARQUET_INPUT = 'node_modules/parquet-wasm/';

/** Files a bundle reads at run time: [source, destination relative to the bundle's folder]. */
function runtimeAssets(fn: LambdaFunctionName, inputs: readonly string[]): [string, string][] {
  const assets: [string, string][] = [];
  if (inputs.some((i) => i.includes(PARSER_INPUT))) {
    assets.push([
      path.join(path.dirname(require.resolve('libpg-query')), 'libpg-query.wasm'),
      'libpg-query.wasm',
    ]);
  }
  if (inputs.some((i) => i.includes(PARQUET_INPUT))) {
    assets.push([
      path.join(path.dirname(require.resolve('parquet-wasm')), 'parquet_wasm_bg.wasm'),
      'parquet_wasm_bg.wasm',
    ]);
  }
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
  /** The deployment package zipped (deflate), as Lambda receives it. */
  zipBytes: number;
  /** Every input esbuild put in the bundle (paths relative to the project). */
  inputs: string[];
  /** Files beside the bundle, relative to its folder. */
  files: string[];
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
      plugins: name === 'api' ? [inlineVersion(), parquetLeftOut()] : [inlineVersion()],
      logLevel: 'warning',
    });
    const inputs = bundleInputs(result.metafile);
    for (const [from, to] of runtimeAssets(name, inputs)) {
      await mkdir(path.dirname(path.join(dir, to)), { recursive: true });
      await cp(from, path.join(dir, to));
    }
    await writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n');
    const files = await folderFiles(dir);
    const bundle: BuiltBundle = {
      name,
      dir,
      file,
      bundleBytes: (await stat(file)).size,
      packageBytes: await folderBytes(dir),
      zipBytes: zipBytes(dir, files),
      inputs,
      files,
      topInputs: topInputs(result.metafile),
    };
    const broken = bundleRuleViolations(bundle);
    if (broken.length) throw new Error(`${name} bundle breaks its rules:\n  ${broken.join('\n  ')}`);
    built.push(bundle);
  }
  return built;
}

/** What a bundle breaks of BUNDLE_RULES and MAX_ZIP_BYTES; empty when it keeps them all. */
export function bundleRuleViolations(b: BuiltBundle): string[] {
  const broken: string[] = [];
  const rules = BUNDLE_RULES[b.name];
  for (const forbidden of rules.forbidden) {
    const hit = b.inputs.find((i) => i.includes(forbidden));
    if (hit) broken.push(`contains ${forbidden} (${hit})`);
  }
  if (rules.maxBundleBytes !== undefined && b.bundleBytes > rules.maxBundleBytes)
    broken.push(`bundle of ${kb(b.bundleBytes)}, over ${kb(rules.maxBundleBytes)}`);
  if (b.zipBytes > MAX_ZIP_BYTES) broken.push(`zips to ${kb(b.zipBytes)}, over ${kb(MAX_ZIP_BYTES)}`);
  return broken;
}

function bundleInputs(meta: Metafile): string[] {
  const output = Object.entries(meta.outputs).find(([file]) => file.endsWith('.mjs'))?.[1];
  return Object.keys(output?.inputs ?? {});
}

async function folderFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) files.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return files.sort();
}

/** Size of a zip of the folder: each file deflated, plus its local and central directory headers. */
function zipBytes(dir: string, files: readonly string[]): number {
  const END_OF_CENTRAL_DIRECTORY = 22;
  let total = END_OF_CENTRAL_DIRECTORY;
  for (const file of files) {
    const data = readFileSync(path.join(dir, file));
    const name = Buffer.byteLength(file);
    total += 30 + name + Math.min(deflateRawSync(data, { level: 9 }).length, data.length) + 46 + name;
  }
  return total;
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
      `package ${kb(b.packageBytes)} (zip ${kb(b.zipBytes)})`,
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
