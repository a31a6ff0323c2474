/**
 * Lifecycle of the embedded PostgreSQL, each test on its own temp home (not the shared instance):
 * first and later starts, recovery from what a killed run leaves behind, ports, logs.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type EmbeddedPostgres,
  startEmbeddedPostgres,
} from '../../../src/warehouse/embedded/postgres-process.js';

const ORPHAN_PARENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'orphan-parent.ts');

let home: string;
const running: EmbeddedPostgres[] = [];

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'spectra-lifecycle-'));
  // As root, PostgreSQL runs as the OS user `postgres`, which must be able to reach the home.
  await chmod(home, 0o755);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

async function start(opts: Partial<Parameters<typeof startEmbeddedPostgres>[0]> = {}) {
  const postgres = await startEmbeddedPostgres({ home, ...opts });
  running.push(postgres);
  return postgres;
}

async function query(postgres: EmbeddedPostgres, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({
    host: postgres.host,
    port: postgres.port,
    user: postgres.superuser,
    password: postgres.superuserPassword,
    database: 'postgres',
  });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const pidFile = () => path.join(home, 'pg', 'data', 'postmaster.pid');
const recordedPort = async () => Number.parseInt(await readFile(path.join(home, 'pg', 'port'), 'utf8'), 10);

/** Running, and not a zombie waiting for init to reap it. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const procStat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return !/^\d+ \(.*\) [ZX]/.test(procStat);
}

function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

describe('startEmbeddedPostgres', () => {
  it('initialises a new home, listening on 127.0.0.1 only, with a private superuser password file', async () => {
    const postgres = await start();
    expect(postgres.host).toBe('127.0.0.1');
    expect(
      await query(
        postgres,
        "SELECT current_setting('listen_addresses') AS listen, version() LIKE 'PostgreSQL 18%' AS v18",
      ),
    ).toEqual([{ listen: '127.0.0.1', v18: true }]);
    expect((await stat(path.join(home, 'pg', 'superuser.json'))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path.join(home, 'pg', 'superuser.json'), 'utf8'))).toEqual({
      user: 'postgres',
      password: postgres.superuserPassword,
    });
    expect(postgres.superuserPassword.length).toBeGreaterThanOrEqual(32);
    expect(await recordedPort()).toBe(postgres.port);
  });

  it('starts again from the same home without a new initdb: the same password and port', async () => {
    const first = await start();
    const { port, superuserPassword } = first;
    await first.stop();

    const second = await start();

    expect(second.port).toBe(port);
    expect(second.superuserPassword).toBe(superuserPassword);
    expect(await query(second, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('sends PostgreSQL log lines to the log option and nothing to stdout', async () => {
    const stdout = vi.spyOn(process.stdout, 'write');
    const lines: string[] = [];
    try {
      await start({ log: (line) => lines.push(line) });
      expect(lines.some((l) => l.includes('database system is ready to accept connections'))).toBe(true);
      expect(stdout).not.toHaveBeenCalled();
    } finally {
      stdout.mockRestore();
    }
  });

  it('removes a stale postmaster.pid whose process is dead', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.once('exit', resolve));
    await writeFile(
      pidFile(),
      `${dead.pid}\n${path.join(home, 'pg', 'data')}\n0\n5432\n\n127.0.0.1\n0 0\nready\n`,
    );

    const postgres = await start();
    expect(await query(postgres, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('removes a postmaster.pid naming a live process that is not PostgreSQL', async () => {
    await writeFile(
      pidFile(),
      `${process.pid}\n${path.join(home, 'pg', 'data')}\n0\n5432\n\n127.0.0.1\n0 0\nready\n`,
    );

    const postgres = await start();
    expect(await query(postgres, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    expect(await isAlive(process.pid)).toBe(true);
  });

  it('stops a PostgreSQL orphaned by a killed parent and starts a fresh one', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', ORPHAN_PARENT, home], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const ready = await new Promise<string>((resolve, reject) => {
      parent.stdout.setEncoding('utf8');
      parent.stdout.on('data', (chunk: string) => chunk.startsWith('ready') && resolve(chunk.trim()));
      parent.once('exit', (code) => reject(new Error(`orphan parent exited early (${code})`)));
    });
    const orphanPid = Number(ready.split(' ')[1]);
    parent.kill('SIGKILL');
    await new Promise((resolve) => parent.once('exit', resolve));
    expect(await isAlive(orphanPid)).toBe(true);

    const postgres = await start();
    expect(await isAlive(orphanPid)).toBe(false);
    const [row] = await query(
      postgres,
      "SELECT pg_postmaster_start_time() > now() - interval '1 minute' AS fresh",
    );
    expect(row).toEqual({ fresh: true });
    expect(Number((await readFile(pidFile(), 'utf8')).split('\n')[0])).not.toBe(orphanPid);
  });

  it('refuses a home whose PostgreSQL is still run by a live process', async () => {
    await start();
    await expect(startEmbeddedPostgres({ home })).rejects.toThrow(/is in use/);
  });

  it('moves to a free port when the recorded one is taken, and records the new one', async () => {
    const first = await start();
    const taken = first.port;
    await first.stop();
    const blocker = await occupy(taken);
    try {
      const second = await start();
      expect(second.port).not.toBe(taken);
      expect(await recordedPort()).toBe(second.port);
      expect(await query(second, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('honours an explicit port, and says so when it is taken', async () => {
    const blocker = await occupy(0);
    const busy = (blocker.address() as net.AddressInfo).port;
    await new Promise((resolve) => blocker.close(resolve));

    const postgres = await start({ port: busy });
    expect(postgres.port).toBe(busy);
    await postgres.stop();

    const again = await occupy(busy);
    try {
      await expect(startEmbeddedPostgres({ home, port: busy })).rejects.toThrow(/port \d+ .* already in use/);
    } finally {
      await new Promise((resolve) => again.close(resolve));
    }
  });

  it('logs every statement to a file when statementLog is set', async () => {
    const postgres = await start({ statementLog: true });
    expect(postgres.statementLogFile).toBe(path.join(home, 'pg', 'statements.log'));
    await query(postgres, 'SELECT 42 AS statement_log_marker');
    const log = await readFile(postgres.statementLogFile!, 'utf8');
    expect(log).toMatch(/postgres@postgres LOG: {2}statement: SELECT 42 AS statement_log_marker/);
  });

  it('stop() is idempotent and leaves no postmaster.pid behind', async () => {
    const postgres = await start();
    await Promise.all([postgres.stop(), postgres.stop()]);
    await expect(stat(pidFile())).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
