/**
 * `npm run dev:aws` as a user runs it (issue 14, item 8): a child process that starts the embedded
 * PostgreSQL, s3rver, the Data API stand-in and DynamoDB Local, runs `spectra aws init`, and serves
 * the API on the AWS adapters; a tenant query answers through HTTP; SIGTERM stops every part.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
let child: ChildProcess | undefined;
let home: string | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (home) await rm(home, { recursive: true, force: true });
});

/** True while something accepts connections on the URL's port. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm run dev:aws', () => {
  it('serves a tenant query on the AWS adapters, and SIGTERM stops every stand-in', async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'spectra-dev-aws-'));
    // As root, PostgreSQL runs as the OS user "postgres", which must reach SPECTRA_HOME.
    await chmod(home, 0o755);
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev-aws.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        SPECTRA_HOME: home,
        SPECTRA_PORT: '0',
        SPECTRA_DEMO_ROWS: '1000',
        SPECTRA_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => {
      output += d;
    });
    child.stderr!.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const ready = await new Promise<Record<string, string | number>>((resolve, reject) => {
      const look = () => {
        const line = output.split('\n').find((l) => l.startsWith('ready '));
        if (line) resolve(JSON.parse(line.slice('ready '.length)));
      };
      child!.stdout!.on('data', look);
      void exited.then((code) =>
        reject(new Error(`dev:aws exited (${code}) before it was ready:\n${output}`)),
      );
    });
    expect(output).toMatch(/DynamoDB table spectra-jobs: (created|exists)/);
    expect(output).toMatch(/S3 bucket spectra-dev-results: (created|exists)/);

    const credentials = JSON.parse(await readFile(path.join(home, 'credentials.json'), 'utf8'));
    const acme = credentials.tenants.find((t: { tenant_id: string }) => t.tenant_id === 'acme').api_key;
    const res = await fetch(`${ready.url}/v1/queries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        sql: 'SELECT current_user AS who, count(DISTINCT tenant_id) AS tenants FROM sales',
      }),
    });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    expect(JSON.parse(body).data).toEqual([{ who: 'tenant_acme', tenants: 1 }]);
    expect(JSON.parse(body).metadata.query_id).toMatch(/^rsd:/);

    child.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    for (const url of [
      ready.url,
      ready.dynamodb,
      ready.s3,
      ready.dataApi,
      `http://127.0.0.1:${ready.postgresPort}`,
    ])
      expect(await listening(String(url)), `${url} still listening`).toBe(false);
    expect(existsSync(path.join(home, 'pg', 'data', 'postmaster.pid'))).toBe(false);
  }, 180_000);
});
