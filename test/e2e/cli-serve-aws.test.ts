/**
 * `spectra aws init` then `SPECTRA_STATE=dynamodb SPECTRA_STORAGE=s3 spectra serve`, as child
 * processes configured only the documented way (SPECTRA_* names, AWS_ENDPOINT_URL_* endpoints),
 * on the embedded warehouse with DynamoDB Local and s3rver (issue 7, item 4): the demo tenants'
 * keys live in DynamoDB, a query answers, an async job's result downloads from S3, SIGTERM → 0.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateTableNames } from '../../src/state/dynamodb/index.js';
import { tableSettings } from '../helpers/aws-stack.js';
import { dynamoEndpoint, testDynamoClient, uniqueTablePrefix } from '../helpers/dynamodb-fixture.js';
import { S3RVER_CREDENTIALS, s3Endpoint } from '../helpers/s3-fixture.js';
import { json } from '../helpers/spectra.js';
import { WAIT_TIMEOUT_MS } from '../helpers/time.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const READY_TIMEOUT_MS = 90_000;
const execFileAsync = promisify(execFile);

let home: string;
let env: NodeJS.ProcessEnv;
let child: ChildProcess | undefined;
let exited: Promise<number | null>;
let url: string;
const tables = stateTableNames(uniqueTablePrefix('serve'));
const bucket = `serve-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'spectra-serve-aws-'));
  await chmod(home, 0o755); // as root, PostgreSQL runs as `postgres` and must reach the home
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(SPECTRA|AWS)_/.test(k)),
  );
  env = {
    ...inherited,
    AWS_ENDPOINT_URL_DYNAMODB: await dynamoEndpoint(),
    AWS_ENDPOINT_URL_S3: s3Endpoint(),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    SPECTRA_STATE: 'dynamodb',
    SPECTRA_STORAGE: 's3',
    SPECTRA_S3_BUCKET_NAME: bucket,
    SPECTRA_HOME: home,
    SPECTRA_LOG_LEVEL: 'warn',
    ...tableSettings(tables),
  };
  const init = await execFileAsync(process.execPath, ['bin/spectra.js', 'aws', 'init'], { cwd: ROOT, env });
  expect(init.stdout).toContain(`S3 bucket ${bucket}: created`);
  expect(init.stderr).not.toMatch(/NodeVersionSupportWarning/);

  child = spawn(process.execPath, ['bin/spectra.js', 'serve', '--port', '0', '--demo-rows', '5000'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serve not ready:\n${stdout}\n${stderr}`)),
      READY_TIMEOUT_MS,
    );
    child!.stdout!.on('data', (d) => {
      stdout += d;
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout);
      if (m && /API docs: /.test(stdout)) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before it was ready:\n${stdout}\n${stderr}`));
    });
  });
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }
  await rm(home, { recursive: true, force: true });
});

async function credentials(): Promise<{ tenants: { tenant_id: string; api_key: string }[] }> {
  return JSON.parse(await readFile(path.join(home, 'credentials.json'), 'utf8'));
}

describe('spectra serve with SPECTRA_STATE=dynamodb SPECTRA_STORAGE=s3 on the embedded warehouse', () => {
  it('keeps the demo keys in DynamoDB and answers each tenant with its own rows', async () => {
    const { tenants } = await credentials();
    const acme = tenants.find((t) => t.tenant_id === 'acme')!;
    const db = await testDynamoClient();
    const stored = await db.send(new GetCommand({ TableName: tables.tenants, Key: { tenant_id: 'acme' } }));
    expect(stored.Item?.tenant_id).toBe('acme');
    db.destroy();
    const res = await fetch(`${url}/v1/queries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acme.api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT DISTINCT tenant_id FROM sales' }),
    });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data).toEqual([{ tenant_id: 'acme' }]);
  });

  it('runs an async job in the serve process and hands out a presigned S3 download of its rows', async () => {
    const { tenants } = await credentials();
    const key = tenants.find((t) => t.tenant_id === 'globex')!.api_key;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const submitted = await fetch(`${url}/v1/queries`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        sql: 'WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 3) SELECT g AS n FROM s ORDER BY g',
        async: true,
      }),
    });
    expect(submitted.status).toBe(202);
    const { job_id: jobId } = await json(submitted);
    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    let job: { status: string };
    do {
      await new Promise((r) => setTimeout(r, 100));
      job = await json(await fetch(`${url}/v1/jobs/${jobId}`, { headers }));
    } while (!['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status) && Date.now() < deadline);
    expect(job.status, JSON.stringify(job)).toBe('COMPLETED');
    const d = await json(await fetch(`${url}/v1/jobs/${jobId}/results?format=csv`, { headers }));
    expect(new URL(d.download_url).origin).toBe(s3Endpoint());
    const file = await fetch(d.download_url);
    expect(file.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await file.text()).trimEnd().split('\r\n')).toEqual(['n', '1', '2', '3']);
  });

  it('stops with exit 0 on SIGTERM', async () => {
    process.kill(-child!.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
  });
});
