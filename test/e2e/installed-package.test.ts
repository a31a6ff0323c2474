/**
 * The path an npm user takes (issue 20): `npm pack` (its `prepare` step builds dist/ from the current
 * sources), the tarball's contents, `npm install <tarball>` into an empty folder (dependencies from
 * the npm registry), `npx spectra serve` there with its own SPECTRA_HOME, a tenant query with the
 * printed credentials, then SIGTERM. Slow by nature (a build, an install, a first start).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  exports: Record<string, string | { types: string; default: string }>;
};
const SLOW_MS = 600_000;
const execFileAsync = promisify(execFile);

interface PackedFile {
  path: string;
  size: number;
}

/** A user's shell: none of this run's SPECTRA_*, npm lifecycle or vitest variables. */
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(SPECTRA_|npm_|VITEST)/i.test(k) && k !== 'INIT_CWD'),
);

let scratch: string;
let tarball: string;
let packed: { files: PackedFile[]; size: number; unpackedSize: number };
let app: string;
let serve: ChildProcess | undefined;

beforeAll(async () => {
  // As root, PostgreSQL runs as the OS user `postgres`: every folder on the way to its data dir must be reachable.
  scratch = await mkdtemp(path.join(os.tmpdir(), 'spectra-pkg-'));
  await chmod(scratch, 0o755);
  const { stdout } = await execFileAsync('npm', ['pack', '--json', '--pack-destination', scratch], {
    cwd: ROOT,
    env: userEnv,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(stdout) as [
    { filename: string; files: PackedFile[]; size: number; unpackedSize: number },
  ];
  packed = info;
  tarball = path.join(scratch, path.basename(info.filename));
}, SLOW_MS);

afterAll(async () => {
  if (serve?.pid !== undefined && serve.exitCode === null && serve.signalCode === null) {
    try {
      process.kill(-serve.pid, 'SIGKILL');
    } catch {}
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the npm tarball', () => {
  it('holds the compiled code, the command, docs, README and LICENSE, and no test, bench, fixture, infra, script or Lambda-bundle file', () => {
    const paths = packed.files.map((f) => f.path);
    console.info(
      `npm pack: ${paths.length} files, ${(packed.size / 1024).toFixed(0)} kB packed, ` +
        `${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked`,
    );
    const shipped =
      /^(dist\/.+\.(js|js\.map|d\.ts)|dist\/console\/[\w-]+\.(html|css|svg)|bin\/spectra\.js|docs\/[\w-]+\.md|README\.md|LICENSE|package\.json)$/;
    expect(paths.filter((p) => !shipped.test(p))).toEqual([]);
    expect(
      paths.filter((p) =>
        /(^|\/)(test|bench|fixtures|infra|scripts)\/|^dist\/(lambda|cdk\.out)\/|\.test\./.test(p),
      ),
    ).toEqual([]);
    for (const required of [
      'bin/spectra.js',
      'dist/cli/main.js',
      'dist/sql/plan-worker.js',
      'dist/console/index.html',
      'LICENSE',
      'README.md',
    ])
      expect(paths).toContain(required);
    for (const target of Object.values(PKG.exports)) {
      for (const file of typeof target === 'string' ? [target] : [target.types, target.default])
        expect(paths).toContain(file.replace(/^\.\//, ''));
    }
  });
});

describe('installed from the tarball into an empty folder', () => {
  beforeAll(async () => {
    app = path.join(scratch, 'app');
    await mkdir(app, { mode: 0o755 });
    await execFileAsync('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app, env: userEnv });
  }, SLOW_MS);

  it('installs no development dependency: no tsx, no TypeScript', () => {
    expect(existsSync(path.join(app, 'node_modules', PKG.name, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(path.join(app, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(path.join(app, 'node_modules', 'typescript'))).toBe(false);
  });

  it('`npx spectra --version` prints the package version', async () => {
    const { stdout } = await execFileAsync('npx', ['spectra', '--version'], { cwd: app, env: userEnv });
    expect(stdout.trim()).toBe(PKG.version);
  });

  it('the library entry points import', async () => {
    const script = [
      `const lib = await import('${PKG.name}');`,
      `const lambdas = await Promise.all(['api', 'authorizer', 'worker'].map((f) => import('${PKG.name}/lambda/' + f)));`,
      'console.log(JSON.stringify({ version: lib.VERSION, startServer: typeof lib.startServer, handlers: lambdas.map((l) => typeof l.handler) }));',
    ].join('\n');
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      env: userEnv,
    });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      version: PKG.version,
      startServer: 'function',
      handlers: ['function', 'function', 'function'],
    });
  });

  it(
    '`npx spectra serve` answers a tenant query with the printed credentials and stops on SIGTERM',
    async () => {
      const home = path.join(scratch, 'home');
      // Its own process group, like a terminal's foreground job: SIGTERM reaches npx, its shell and
      // the node process alike (npx does not forward signals through `sh -c`).
      const child = spawn('npx', ['spectra', 'serve', '--port', '0'], {
        cwd: app,
        env: { ...userEnv, SPECTRA_HOME: home, SPECTRA_DEMO_ROWS: '1000', SPECTRA_LOG_LEVEL: 'info' },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      serve = child;
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => {
        stdout += d;
      });
      child.stderr!.on('data', (d) => {
        stderr += d;
      });
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      const url = await new Promise<string>((resolve, reject) => {
        const onData = () => {
          const m = /listening on (http:\/\/\S+)/.exec(stdout);
          if (m && /^ {2}acme +spk_\S+$/m.test(stdout)) {
            child.stdout!.off('data', onData);
            resolve(m[1]!);
          }
        };
        child.stdout!.on('data', onData);
        closed.then(() => reject(new Error(`npx spectra serve exited:\n${stdout}\n${stderr.slice(-4000)}`)));
      });
      const key = /^ {2}acme +(spk_\S+)$/m.exec(stdout)![1]!;

      const res = await fetch(`${url}/v1/queries`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql: 'SELECT tenant_id, COUNT(*) AS n FROM sales GROUP BY tenant_id' }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: { tenant_id: string; n: number }[] };
      expect(body.data.map((r) => r.tenant_id)).toEqual(['acme']);
      expect(body.data[0]!.n).toBeGreaterThan(0);
      // The web console ships built: no console/ sources, no esbuild in an installed package.
      const page = await fetch(`${url}/console`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<script type="module" src="\/console\/app-[A-Z0-9]{8}\.js">/);

      process.kill(-child.pid!, 'SIGTERM');
      // 'close' fires once every process holding the output pipes (npx, sh, node) has exited.
      await closed;
      expect(stderr).toContain('"signal":"SIGTERM"');
      expect(existsSync(path.join(home, 'pg', 'data', 'postmaster.pid'))).toBe(false);
    },
    SLOW_MS,
  );
});
