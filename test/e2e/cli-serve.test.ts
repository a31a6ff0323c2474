/**
 * `spectra serve` as a new user runs it: a child process with its own SPECTRA_HOME and its own
 * embedded PostgreSQL (small demo data). First start prints the address, the credentials and a
 * curl that works; SIGTERM stops everything with exit 0; a second start is quick and reuses the
 * keys; a serve killed with SIGKILL (alone, or with its PostgreSQL) is recovered on the next start.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCanSharePort } from '../helpers/node-features.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO_ROWS = 20_000;
const READY_TIMEOUT_MS = 90_000;
const execFileAsync = promisify(execFile);

interface Serve {
  child: ChildProcess;
  url: string;
  stdout: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything logged on stderr so far. */
  stderr(): string;
  /** Resolves with the first log line on stderr matching `pattern` (seen before or after the call). */
  logged(pattern: RegExp): Promise<string>;
}

interface Credentials {
  tenants: { tenant_id: string; api_key: string; db_user: string }[];
  admin_key: string;
}

let home: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'spectra-cli-'));
  // As root, PostgreSQL runs as the OS user `postgres`, which must be able to reach the home.
  await chmod(home, 0o755);
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }
  }
  const pid = await postmasterPid();
  if (pid !== undefined) killGroup(pid);
  await rm(home, { recursive: true, force: true });
});

/**
 * Writes an `--import` hook for a serve process into the home and returns its URL. `body` may call
 * `hold()`, which blocks the process where it is called until the file `release` exists: the test
 * acts on the process at that point (signals it), then creates the file.
 */
async function holdingHook(name: string, release: string, body: string[]): Promise<string> {
  const file = path.join(home, name);
  await writeFile(
    file,
    [
      "import { existsSync, writeFileSync } from 'node:fs';",
      'const cell = new Int32Array(new SharedArrayBuffer(4));',
      `const hold = () => { while (!existsSync(${JSON.stringify(release)})) Atomics.wait(cell, 0, 0, 10); };`,
      ...body,
      '',
    ].join('\n'),
  );
  return pathToFileURL(file).href;
}

/** Spawns `spectra serve` (port 0, log level warn, no SPECTRA_* from this process) in its own process group. */
function spawnServe(
  opts: { home?: string; demoRows?: number; env?: Record<string, string>; nodeArgs?: string[] } = {},
) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPECTRA_')));
  const child = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      'bin/spectra.js',
      'serve',
      '--port',
      '0',
      '--home',
      opts.home ?? home,
      '--demo-rows',
      String(opts.demoRows ?? DEMO_ROWS),
    ],
    {
      cwd: ROOT,
      env: { ...env, SPECTRA_LOG_LEVEL: 'warn', ...opts.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited };
}

/** Spawns `spectra serve` and waits for "listening on …" and the credentials block. */
async function startServe(extraEnv: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Serve> {
  const { child, exited } = spawnServe({ env: extraEnv, nodeArgs });
  let stdout = '';
  let stderr = '';
  const watchers: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const firstMatch = (pattern: RegExp) => stderr.split('\n').find((line) => pattern.test(line));
  child.stderr!.on('data', (d) => {
    stderr += d;
    for (const w of watchers.splice(0)) {
      const line = firstMatch(w.pattern);
      if (line === undefined) watchers.push(w);
      else w.resolve(line);
    }
  });
  const logged = (pattern: RegExp) =>
    new Promise<string>((resolve) => {
      const line = firstMatch(pattern);
      if (line === undefined) watchers.push({ pattern, resolve });
      else resolve(line);
    });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serve not ready:\n${stdout}\n${stderr}`)),
      READY_TIMEOUT_MS,
    );
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout);
      // The credentials block ends with the docs line.
      if (m && /API docs: /.test(stdout)) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before it was ready:\n${stdout}\n${stderr}`));
    });
  });
  return { child, url, stdout, exited, logged, stderr: () => stderr };
}

async function postmasterPid(): Promise<number | undefined> {
  const text = await readFile(path.join(home, 'pg', 'data', 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = text ? Number.parseInt(text.split('\n')[0]!, 10) : Number.NaN;
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}

/** Running, not a zombie (an orphan's zombie lingers when the container's init does not reap it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const procStat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const state = procStat.slice(procStat.lastIndexOf(')') + 2, procStat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function pgPort(): Promise<number> {
  return Number.parseInt(await readFile(path.join(home, 'pg', 'port'), 'utf8'), 10);
}

async function readCredentials(): Promise<Credentials> {
  return JSON.parse(await readFile(path.join(home, 'credentials.json'), 'utf8'));
}

async function query(url: string, key: string, sql: string) {
  const res = await fetch(`${url}/v1/queries`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { data: Record<string, unknown>[] };
}

async function stop(serve: Serve) {
  process.kill(serve.child.pid!, 'SIGTERM');
  return serve.exited;
}

describe('spectra serve', { timeout: 180_000 }, () => {
  let first: Serve;
  let creds: Credentials;

  it('first start: prints "listening on", writes credentials.json (0600) and a curl that returns one tenant’s rows', async () => {
    first = await startServe({ SPECTRA_LOG_LEVEL: 'info', NODE_OPTIONS: '' });
    expect(first.stderr()).toMatch(/seeded the demo warehouse/);
    // Started without `npm start`'s Node option: one info line says how to set it.
    expect(first.stderr()).toMatch(
      /"node_option":"--max-semi-space-size=64".*young generation is at its default/,
    );
    // Several listening sockets share the port where Node can (22.12+); elsewhere one line says so.
    const oneSocket = /"sockets":1,"wanted":8.*cannot share a port/;
    if (nodeCanSharePort) expect(first.stderr()).not.toMatch(oneSocket);
    else expect(first.stderr()).toMatch(oneSocket);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const file = path.join(home, 'credentials.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    creds = await readCredentials();
    expect(Object.keys(creds).sort()).toEqual(['admin_key', 'tenants']);
    expect(creds.tenants.map((t) => Object.keys(t).sort())).toEqual(
      Array(3).fill(['api_key', 'db_user', 'tenant_id']),
    );
    expect(creds.tenants.map((t) => t.tenant_id)).toEqual(['acme', 'globex', 'initech']);
    for (const t of creds.tenants) {
      expect(t.api_key).toMatch(new RegExp(`^spk_${t.tenant_id}_`));
      expect(t.db_user).toBe(`tenant_${t.tenant_id}`);
      expect(first.stdout).toContain(t.api_key);
    }
    expect(creds.admin_key).toMatch(/^spk_/);

    // The printed curl, run as printed (a backslash-newline continues it on the next line).
    const m = /^\s*(curl [^\n]*\\\n[^\n]*)$/m.exec(first.stdout);
    expect(m, first.stdout).not.toBeNull();
    const printed = m![1]!;
    const curlKey = /Bearer (spk_[^']+)'/.exec(printed)![1]!;
    const tenant = creds.tenants.find((t) => t.api_key === curlKey)!;
    expect(tenant).toBeDefined();
    const { stdout } = await execFileAsync('bash', ['-c', printed]);
    const body = JSON.parse(stdout) as { data: { region: string; sales: number; total: string }[] };
    expect(body.data.map((r) => r.region).sort()).toEqual(['AMER', 'APAC', 'EMEA']);
    const shown = body.data.reduce((n, r) => n + r.sales, 0);

    // Those are exactly the tenant's own rows: its count, not the table's.
    const own = await query(
      first.url,
      tenant.api_key,
      'SELECT count(*) AS n, count(DISTINCT tenant_id) AS tenants FROM sales',
    );
    expect(own.data).toEqual([{ n: shown, tenants: 1 }]);
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(DEMO_ROWS);
    const distinct = await query(first.url, tenant.api_key, 'SELECT DISTINCT tenant_id FROM sales');
    expect(distinct.data).toEqual([{ tenant_id: tenant.tenant_id }]);
  });

  it('SIGTERM → exit code 0, and its PostgreSQL is stopped (port closed)', async () => {
    const port = await pgPort();
    expect(await portOpen(port)).toBe(true);
    expect(await stop(first)).toEqual({ code: 0, signal: null });
    expect(await portOpen(port)).toBe(false);
    expect(await postmasterPid()).toBeUndefined();
  });

  let second: Serve;
  it('a second start with the same home reuses the cluster, the demo data and the keys', async () => {
    const clusterBefore = await stat(path.join(home, 'pg', 'data', 'PG_VERSION'));
    second = await startServe({ SPECTRA_LOG_LEVEL: 'info', NODE_OPTIONS: '--max-semi-space-size=64' });
    expect(second.stderr()).not.toMatch(/young generation/);
    // No initdb, no seeding: the same cluster (same PG_VERSION file) and the same demo warehouse.
    expect((await stat(path.join(home, 'pg', 'data', 'PG_VERSION'))).ino).toBe(clusterBefore.ino);
    expect(second.stderr()).not.toMatch(/seeded the demo warehouse|bootstrapped the embedded warehouse/);
    expect(await readCredentials()).toEqual(creds);
    for (const t of creds.tenants) expect(second.stdout).toContain(t.api_key);
    const acme = creds.tenants[0]!;
    expect((await query(second.url, acme.api_key, 'SELECT DISTINCT tenant_id FROM customers')).data).toEqual([
      { tenant_id: 'acme' },
    ]);
  });

  it('after SIGKILL of the serve process group (its PostgreSQL orphaned), the next start recovers', async () => {
    const orphan = await postmasterPid();
    expect(orphan).toBeDefined();
    // The process killed is the one that started this cluster, and it is still running.
    expect(JSON.parse(await readFile(path.join(home, 'pg', 'owner.json'), 'utf8')).pid).toBe(
      second.child.pid,
    );
    expect({ exitCode: second.child.exitCode, signalCode: second.child.signalCode }).toEqual({
      exitCode: null,
      signalCode: null,
    });
    killGroup(second.child.pid!);
    expect((await second.exited).signal).toBe('SIGKILL');
    expect(alive(orphan!)).toBe(true);

    const third = await startServe();
    expect(await postmasterPid()).not.toBe(orphan);
    expect(alive(orphan!)).toBe(false);
    const globex = creds.tenants[1]!;
    expect((await query(third.url, globex.api_key, 'SELECT DISTINCT tenant_id FROM sales')).data).toEqual([
      { tenant_id: 'globex' },
    ]);

    // Now kill everything at once: serve and the whole PostgreSQL, leaving a stale postmaster.pid.
    const postmaster = (await postmasterPid())!;
    killGroup(third.child.pid!);
    killGroup(postmaster);
    await third.exited;
    await waitFor('PostgreSQL to die', () => !alive(postmaster));
    expect(await postmasterPid()).toBe(postmaster);

    const fourth = await startServe();
    expect(await postmasterPid()).not.toBe(postmaster);
    const initech = creds.tenants[2]!;
    expect(
      (await query(fourth.url, initech.api_key, 'SELECT DISTINCT tenant_id FROM products')).data,
    ).toEqual([{ tenant_id: 'initech' }]);
    const port = await pgPort();
    expect(await stop(fourth)).toEqual({ code: 0, signal: null });
    expect(await portOpen(port)).toBe(false);
  });
});

/** A superuser session on the serve's embedded warehouse: holds locks that make a tenant's query wait. */
async function warehouseSuperuser(): Promise<pg.Client> {
  const { user, password } = JSON.parse(await readFile(path.join(home, 'pg', 'superuser.json'), 'utf8'));
  const client = new pg.Client({
    host: '127.0.0.1',
    port: await pgPort(),
    user,
    password,
    database: 'spectra_warehouse',
  });
  // The serve stops its PostgreSQL once its last request is answered, possibly before this session
  // ends: the FATAL "terminating connection due to administrator command" is expected then, and an
  // 'error' event without a listener would be an uncaught exception in the test process.
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Until a statement containing `marker` waits for a lock (it is in flight in the database). */
async function waitingOnLock(admin: pg.Client, marker: string): Promise<void> {
  await waitFor(
    `a statement with ${marker} to wait on the lock`,
    async () => {
      // Inside a transaction pg_stat_activity is a snapshot: clear it so each look is fresh.
      await admin.query('SELECT pg_stat_clear_snapshot()');
      const waiting = await admin.query(
        `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND strpos(query, $1::text) > 0`,
        [marker],
      );
      return waiting.rowCount === 1;
    },
    60_000,
  );
}

type StopSignal = { name: string; send: (serve: Serve) => void };
const STOP_SIGNALS: StopSignal[] = [
  // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
  { name: 'SIGINT to the process group', send: (s) => process.kill(-s.child.pid!, 'SIGINT') },
  { name: 'SIGTERM to the node process', send: (s) => process.kill(s.child.pid!, 'SIGTERM') },
  // Closing the terminal: SIGHUP to the process group.
  { name: 'SIGHUP to the process group', send: (s) => process.kill(-s.child.pid!, 'SIGHUP') },
];

/** Stops `serve` with `signal` and checks the promise of the README: exit 0, its PostgreSQL gone. */
async function stopsCleanly(serve: Serve, postmaster: number, signal: StopSignal) {
  expect(await serve.exited, serve.stderr()).toEqual({ code: 0, signal: null });
  expect(alive(postmaster)).toBe(false);
  expect(await postmasterPid()).toBeUndefined();
  await expect(stat(path.join(home, 'server.json')), signal.name).rejects.toThrow();
}

describe('spectra serve stops gracefully: in-flight responses finish, then everything stops', {
  timeout: 180_000,
}, () => {
  // Generous: these tests synchronise on events; the grace period must never be what ends them.
  const env = { SPECTRA_LOG_LEVEL: 'info', SPECTRA_SHUTDOWN_GRACE_SECONDS: '120' };

  it.each(STOP_SIGNALS)(
    '$name with a buffered query in flight: the client gets the whole answer',
    async (signal) => {
      const serve = await startServe(env);
      const postmaster = (await postmasterPid())!;
      const creds = await readCredentials();
      const acme = creds.tenants[0]!;
      const admin = await warehouseSuperuser();
      try {
        const marker = `drain_${Date.now().toString(36)}`;
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE public.sales IN ACCESS EXCLUSIVE MODE');
        const answer = fetch(`${serve.url}/v1/queries`, {
          method: 'POST',
          headers: { authorization: `Bearer ${acme.api_key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sql: `SELECT count(*) AS ${marker} FROM sales` }),
        }).then(async (res) => ({ status: res.status, text: await res.text() }));
        await waitingOnLock(admin, marker);
        signal.send(serve);
        await serve.logged(/"msg":"shutting down"/);
        await serve.logged(/"msg":"draining in-flight requests"/);
        await admin.query('COMMIT');
        const { status, text } = await answer;
        expect(status, text).toBe(200);
        const body = JSON.parse(text) as { status: string; data: Record<string, number>[] };
        expect(body.status).toBe('COMPLETED');
        expect(body.data).toHaveLength(1);
        expect(body.data[0]![marker]).toBeGreaterThan(0);
      } finally {
        await admin.end().catch(() => {});
      }
      await stopsCleanly(serve, postmaster, signal);
    },
  );

  it.each(STOP_SIGNALS)(
    '$name with an NDJSON stream in flight: the client reads every row',
    async (signal) => {
      const serve = await startServe(env);
      const postmaster = (await postmasterPid())!;
      const acme = (await readCredentials()).tenants[0]!;
      const rows = 5000;
      // ~20 MB: far more than socket buffers hold, so the stream is still being written when the signal arrives.
      const sql = `SELECT g AS n, repeat('x', 4000) AS pad FROM generate_series(1, ${rows}) AS g ORDER BY g`;
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request(`${serve.url}/v1/queries`, {
          method: 'POST',
          agent: false,
          headers: {
            authorization: `Bearer ${acme.api_key}`,
            'content-type': 'application/json',
            accept: 'application/x-ndjson',
          },
        });
        req.once('response', (r) => {
          r.pause();
          resolve(r);
        });
        req.once('error', reject);
        req.end(JSON.stringify({ sql }));
      });
      expect(res.statusCode).toBe(200);
      signal.send(serve);
      await serve.logged(/"msg":"shutting down"/);
      await serve.logged(/"msg":"draining in-flight requests"/);
      const chunks: Buffer[] = [];
      const complete = await new Promise<boolean>((resolve) => {
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => resolve(res.complete));
        res.once('error', () => resolve(false));
        res.once('aborted', () => resolve(false));
        res.resume();
      });
      expect(complete).toBe(true);
      const lines = Buffer.concat(chunks)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.length > 0);
      expect(lines).toHaveLength(rows);
      const parsed = lines.map((l) => JSON.parse(l) as { n: number; pad: string });
      expect(parsed.map((r) => r.n)).toEqual(Array.from({ length: rows }, (_, i) => i + 1));
      expect(parsed.every((r) => r.pad.length === 4000)).toBe(true);
      await stopsCleanly(serve, postmaster, signal);
    },
  );
});

/** Runs a short `spectra` command (not serve) against `home`; resolves with its exit code and output. */
async function spectraCommand(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPECTRA_')));
  return execFileAsync(process.execPath, ['bin/spectra.js', ...args], { cwd: ROOT, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

describe('one serve per home; a crash leaves no stale server.json', { timeout: 180_000 }, () => {
  it('a second serve on the same home says so in one line and exits 1; the first keeps serving', async () => {
    const running = await startServe();
    const second = await spectraCommand([
      'serve',
      '--port',
      '0',
      '--home',
      home,
      '--demo-rows',
      String(DEMO_ROWS),
    ]);
    expect(second.code).toBe(1);
    const lines = second.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines, second.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^spectra: ${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by process ${running.child.pid}\\b`,
      ),
    );
    expect(JSON.parse(await readFile(path.join(home, 'server.json'), 'utf8'))).toEqual({
      url: running.url,
      pid: running.child.pid,
    });
    const acme = (await readCredentials()).tenants[0]!;
    expect((await query(running.url, acme.api_key, 'SELECT 1 AS one')).data).toEqual([{ one: 1 }]);
    expect(await stop(running)).toEqual({ code: 0, signal: null });
    await expect(stat(path.join(home, 'server.json'))).rejects.toThrow();
  });

  it('a serve on a port already in use says so in one line and exits 1, its PostgreSQL stopped', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const refused = await spectraCommand([
        'serve',
        '--port',
        String(port),
        '--home',
        home,
        '--demo-rows',
        String(DEMO_ROWS),
      ]);
      expect(refused.code).toBe(1);
      const lines = refused.stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('{'));
      expect(lines, refused.stderr).toEqual([
        `spectra: 127.0.0.1:${port} is already in use (another spectra serve, or another program): choose another port with --port or SPECTRA_PORT (--metrics-port for the metrics listener)`,
      ]);
      await expect(stat(path.join(home, 'server.json'))).rejects.toThrow();
      expect(await postmasterPid()).toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it('a SIGTERM sent the moment the banner is read stops it gracefully (the handlers come first)', async () => {
    // The serve process stops right after writing its banner (a pipe: written synchronously) until
    // the test has signalled it and created `release`. Were the stop handlers installed after the
    // banner, the SIGTERM would meet the default action and kill it there.
    const release = path.join(home, 'banner-release');
    const hook = await holdingHook('hold-after-banner.mjs', release, [
      'const write = process.stdout.write.bind(process.stdout);',
      'process.stdout.write = (chunk, ...rest) => {',
      '  const done = write(chunk, ...rest);',
      "  if (String(chunk).includes('API docs:')) hold();",
      '  return done;',
      '};',
    ]);
    const serve = await startServe({}, ['--import', hook]);
    const postmaster = (await postmasterPid())!;
    const sigterm = STOP_SIGNALS.find((s) => s.name === 'SIGTERM to the node process')!;
    sigterm.send(serve);
    await writeFile(release, '');
    await stopsCleanly(serve, postmaster, sigterm);
    await Promise.all([release, fileURLToPath(hook)].map((f) => rm(f)));
  });

  it('a SIGTERM while it starts: exit 143 at once, its PostgreSQL stopped, no server.json', async () => {
    // The serve process stops at its first TCP connection (to its just-started PostgreSQL) until the
    // test has signalled it and created `release`. A signal there used to meet the default action:
    // the process died, and its PostgreSQL (its own process group) ran on as an orphan.
    const held = path.join(home, 'startup-held');
    const release = path.join(home, 'startup-release');
    const hook = await holdingHook('hold-first-connect.mjs', release, [
      "import net from 'node:net';",
      'const connect = net.Socket.prototype.connect;',
      'let first = true;',
      'net.Socket.prototype.connect = function (...args) {',
      // TCP only: a module loader may connect to a local socket first.
      "  const port = typeof args[0] === 'object' ? args[0]?.port : args[0];",
      '  if (first && port !== undefined) {',
      '    first = false;',
      `    writeFileSync(${JSON.stringify(held)}, '');`,
      '    hold();',
      '  }',
      '  return connect.apply(this, args);',
      '};',
    ]);
    const { child, exited } = spawnServe({ nodeArgs: ['--import', hook] });
    let output = '';
    child.stdout!.on('data', (d) => {
      output += d;
    });
    child.stderr!.on('data', (d) => {
      output += d;
    });
    await waitFor('serve to hold at its first TCP connection', () => existsSync(held), READY_TIMEOUT_MS);
    const postmaster = await postmasterPid();
    expect(postmaster !== undefined && alive(postmaster)).toBe(true);
    process.kill(child.pid!, 'SIGTERM');
    await writeFile(release, '');
    expect(await exited, output).toEqual({ code: 143, signal: null });
    expect(output).toMatch(/"signal":"SIGTERM".*"msg":"stopped while starting"/);
    expect(output).not.toMatch(/listening on/);
    await waitFor('its PostgreSQL to stop', () => !alive(postmaster!), 30_000);
    await expect(stat(path.join(home, 'server.json'))).rejects.toThrow();
    await Promise.all([held, release, fileURLToPath(hook)].map((f) => rm(f)));
  });

  it('an uncaught exception: exit 1, server.json removed, PostgreSQL stopped; a stale server.json is ignored', async () => {
    // Makes SIGUSR2 throw inside the serve process: a crash the code did not expect.
    const hook = path.join(home, 'crash-on-sigusr2.mjs');
    await writeFile(hook, "process.on('SIGUSR2', () => { throw new Error('simulated crash'); });\n");
    const serve = await startServe({}, ['--import', pathToFileURL(hook).href]);
    const postmaster = (await postmasterPid())!;
    expect(JSON.parse(await readFile(path.join(home, 'server.json'), 'utf8')).pid).toBe(serve.child.pid);
    process.kill(serve.child.pid!, 'SIGUSR2');
    const exit = await serve.exited;
    expect(exit.code, serve.stderr()).toBe(1);
    expect(serve.stderr()).toContain('simulated crash');
    await expect(stat(path.join(home, 'server.json'))).rejects.toThrow();
    await waitFor('the crashed serve’s PostgreSQL to stop', () => !alive(postmaster), 30_000);

    // What a SIGKILL leaves behind: a server.json naming a dead process. The CLI does not try to reach it.
    await writeFile(
      path.join(home, 'server.json'),
      `${JSON.stringify({ url: 'http://127.0.0.1:9', pid: serve.child.pid })}\n`,
    );
    const list = await spectraCommand(['tenants', 'list', '--home', home]);
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/^spectra: no server found/);

    // And the next serve replaces it.
    const next = await startServe();
    expect(JSON.parse(await readFile(path.join(home, 'server.json'), 'utf8'))).toEqual({
      url: next.url,
      pid: next.child.pid,
    });
    expect(await stop(next)).toEqual({ code: 0, signal: null });
  });
});

describe.runIf(process.getuid?.() === 0)(
  'as root, a private SPECTRA_HOME (mktemp -d, 0700)',
  { timeout: 240_000 },
  () => {
    let privateHome: string;
    let clusterDir: string | undefined;
    afterAll(async () => {
      if (clusterDir) {
        const pid = Number.parseInt(
          (await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]!,
          10,
        );
        if (pid > 0) killGroup(pid);
        await rm(clusterDir, { recursive: true, force: true });
      }
      if (privateHome) await rm(privateHome, { recursive: true, force: true });
    });

    /** `spectra serve` on the private home; resolves with its URL once the credentials block is printed. */
    async function servePrivate() {
      const { child, exited } = spawnServe({ home: privateHome, demoRows: 2000 });
      let stdout = '';
      let stderr = '';
      child.stderr!.on('data', (d) => {
        stderr += d;
      });
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (d) => {
          stdout += d;
          const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout);
          if (m && /API docs: /.test(stdout)) resolve(m[1]!);
        });
        void exited.then(({ code, signal }) =>
          reject(new Error(`serve exited (${code ?? signal}) before it was ready:\n${stdout}\n${stderr}`)),
        );
      });
      return { child, url, stdout, exited };
    }

    it('starts, answers a query, and a restart finds the same cluster and data', async () => {
      privateHome = await mkdtemp(path.join(os.tmpdir(), 'spectra-private-'));
      expect((await stat(privateHome)).mode & 0o777).toBe(0o700);

      const first = await servePrivate();
      clusterDir = (await readFile(path.join(privateHome, 'pg', 'data-location'), 'utf8')).trim();
      // The startup output says where the cluster is.
      expect(first.stdout).toContain(`PostgreSQL data directory: ${clusterDir}`);
      expect(await readFile(path.join(clusterDir, 'PG_VERSION'), 'utf8')).toBe('18\n');
      const key = JSON.parse(await readFile(path.join(privateHome, 'credentials.json'), 'utf8')).tenants[0]
        .api_key as string;
      const before = await query(first.url, key, 'SELECT count(*) AS n, max(sale_id) AS last FROM sales');
      expect(before.data[0]!.n).toBeGreaterThan(0);
      process.kill(first.child.pid!, 'SIGTERM');
      expect(await first.exited).toEqual({ code: 0, signal: null });
      const cluster = await stat(path.join(clusterDir, 'PG_VERSION'));

      const second = await servePrivate();
      expect(second.stdout).toContain(`PostgreSQL data directory: ${clusterDir}`);
      expect((await stat(path.join(clusterDir, 'PG_VERSION'))).ino).toBe(cluster.ino);
      expect(
        (await query(second.url, key, 'SELECT count(*) AS n, max(sale_id) AS last FROM sales')).data,
      ).toEqual(before.data);
      process.kill(second.child.pid!, 'SIGTERM');
      expect(await second.exited).toEqual({ code: 0, signal: null });
    });
  },
);
