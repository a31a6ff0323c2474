/**
 * Issue 18, deliverable 4: the `spectra` data commands as a user runs them (the real command in a
 * child process, against a real server): login profiles, query formats, async jobs with Ctrl-C,
 * export and import with progress and failed records, and the CLI defects — `--help` everywhere
 * exits 0, usage errors exit 2 in one line, server errors exit 1 with code and request id, a hint
 * when no server answers, compact `--json`, audit newest first with a header row.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/runtime/worker.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { createTenantTable, type TenantTable } from '../helpers/tenant-tables.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'spectra.js');

let spectra: TestSpectra;
let control: ControlDb;
let scratch: string;
let configDir: string;
const tables: TenantTable[] = [];

/** The user's environment: no SPECTRA_* of this run, a config dir of this test. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPECTRA_')));
  return { ...clean, SPECTRA_CONFIG_DIR: configDir, SPECTRA_HOME: path.join(scratch, 'no-home'), ...extra };
}

async function cli(args: string[], env: Record<string, string> = {}) {
  return promisify(execFile)(process.execPath, [BIN, ...args], {
    cwd: scratch,
    env: userEnv(env),
    maxBuffer: 64 << 20,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

const asAcme = () => ({ SPECTRA_URL: spectra.url, SPECTRA_API_KEY: spectra.keys.acme! });

beforeAll(async () => {
  control = await createControlDb('cli_data_e2e');
  spectra = await startSpectra({ SPECTRA_STATE_URL: control.url, SPECTRA_WORKER_POLL_INTERVAL_MS: '200' });
  await startJobWorker(spectra.core);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'spectra-cli-'));
  configDir = path.join(scratch, 'config');
});
afterAll(async () => {
  await spectra?.close();
  await control?.drop();
  for (const t of tables) await t.drop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('profiles', () => {
  it('login stores a 0600 profile; query then prints a table with a header row', async () => {
    const login = await cli(['login', '--url', spectra.url, '--key', spectra.keys.acme!]);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('as tenant acme');
    const file = path.join(configDir, 'profiles.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).profiles.default).toEqual({
      url: spectra.url,
      api_key: spectra.keys.acme,
    });
    const q = await cli(['query', 'SELECT region, SUM(amount) FROM sales GROUP BY 1 ORDER BY 1']);
    expect(q.code, q.stderr).toBe(0);
    const lines = q.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^region\s+sum$/);
    expect(lines[1]).toMatch(/^-+\s+-+$/);
    expect(lines.slice(2, 5).map((l) => l.split(/\s+/)[0])).toEqual(['AMER', 'APAC', 'EMEA']);
    expect(lines.at(-1)).toBe('(3 rows)');
  });

  it('SPECTRA_API_KEY overrides the profile, --key overrides both; an unknown --profile is a usage error', async () => {
    const login = await cli(['login', '--url', spectra.url, '--key', spectra.keys.acme!]);
    expect(login.code, login.stderr).toBe(0);
    const who = 'SELECT DISTINCT tenant_id FROM sales';
    const env = await cli(['query', who, '--format', 'csv'], { SPECTRA_API_KEY: spectra.keys.globex! });
    expect(env.stdout).toBe('tenant_id\r\nglobex\r\n');
    const flag = await cli(['query', who, '--format', 'csv', '--key', spectra.keys.initech!], {
      SPECTRA_API_KEY: spectra.keys.globex!,
    });
    expect(flag.stdout).toBe('tenant_id\r\ninitech\r\n');
    const unknown = await cli(['query', who, '--profile', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toMatch(/^spectra query: no profile "nope"/);
  });
});

describe('query', () => {
  it('csv, ndjson and json (compact with --json), to stdout or a file, with bound --param values', async () => {
    const sql = 'SELECT g, :label AS label FROM generate_series(1, :n) AS g';
    const csv = await cli(
      ['query', sql, '--param', 'n=3', '--param', "label='007'", '--format', 'csv'],
      asAcme(),
    );
    // CSV rows end in CRLF (RFC 4180), as the server writes them.
    expect(csv.stdout).toBe('g,label\r\n1,007\r\n2,007\r\n3,007\r\n');
    const nd = await cli(
      ['query', sql, '--param', 'n=2', '--param', 'label=x', '--format', 'ndjson'],
      asAcme(),
    );
    expect(nd.stdout).toBe('{"g":1,"label":"x"}\n{"g":2,"label":"x"}\n');
    const js = await cli(['query', sql, '--param', 'n=2', '--param', 'label=x', '--json'], asAcme());
    expect(JSON.parse(js.stdout)).toEqual([
      { g: 1, label: 'x' },
      { g: 2, label: 'x' },
    ]);
    const out = path.join(scratch, 'rows.csv');
    const file = await cli(
      ['query', sql, '--param', 'n=5', '--param', 'label=y', '--format', 'csv', '--output', out],
      asAcme(),
    );
    expect(file.code, file.stderr).toBe(0);
    expect((await readFile(out, 'utf8')).split('\r\n')).toHaveLength(7);
  });

  it('a server error exits 1 with its code, message and request id', async () => {
    const r = await cli(['query', 'SELEC 1'], asAcme());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^spectra: INVALID_SQL: .+ \(request id \S+\)\n$/);
  });

  it('no server at the URL: says so and suggests npm start and the profile’s URL', async () => {
    const r = await cli(['query', 'SELECT 1'], {
      SPECTRA_URL: 'http://127.0.0.1:9',
      SPECTRA_API_KEY: 'spk_x_y',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach http://127.0.0.1:9');
    expect(r.stderr).toContain('npm start');
    expect(r.stderr).toContain('SPECTRA_URL');
    const viaProfile = await cli(['tables'], {
      SPECTRA_API_KEY: 'spk_x_y',
      SPECTRA_CONFIG_DIR: path.join(scratch, 'cfg-down'),
    });
    expect(viaProfile.stderr).toContain('npm start');
  });
});

describe('catalog', () => {
  it('tables lists what the tenant reads; describe shows columns and the key; an unknown table exits 1', async () => {
    const tables = await cli(['tables'], asAcme());
    expect(tables.code, tables.stderr).toBe(0);
    const lines = tables.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^table\s+kind\s+columns/);
    const names = lines.slice(2).map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(expect.arrayContaining(['customers', 'products', 'sales']));
    const compact = await cli(['tables', '--json'], asAcme());
    expect(compact.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(compact.stdout).tables.map((t: { name: string }) => t.name)).toEqual(
      expect.arrayContaining(['customers', 'products', 'sales']),
    );
    const sales = await cli(['describe', 'sales'], asAcme());
    expect(sales.code, sales.stderr).toBe(0);
    expect(sales.stdout).toMatch(/^sale_id\s+BIGINT\s+no\s+PK$/m);
    const unknown = await cli(['describe', 'no_such_table'], asAcme());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/NOT_FOUND: .*no_such_table.*request id/);
  });
});

describe('jobs', () => {
  it('query --async, then jobs wait, results, get and list', async () => {
    const sub = await cli(
      ['query', 'SELECT g FROM generate_series(1, 2500) AS g ORDER BY g', '--async', '--limit', '2500'],
      asAcme(),
    );
    expect(sub.code, sub.stderr).toBe(0);
    const id = sub.stdout.trim();
    expect(id).toMatch(/^job-/);
    const wait = await cli(['jobs', 'wait', id], asAcme());
    expect(wait.code, wait.stderr).toBe(0);
    expect(wait.stderr).toContain(`${id} COMPLETED: 2500 rows`);
    const rows = await cli(['jobs', 'results', id, '--format', 'ndjson'], asAcme());
    const lines = rows.stdout.trim().split('\n');
    expect(lines).toHaveLength(2500);
    expect(JSON.parse(lines[2499]!)).toEqual({ g: 2500 });
    const got = await cli(['jobs', 'get', id, '--json'], asAcme());
    expect(got.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(got.stdout)).toMatchObject({ job_id: id, status: 'COMPLETED', row_count: 2500 });
    const list = await cli(['jobs', 'list', '--limit', '3', '--json'], asAcme());
    const listed = JSON.parse(list.stdout) as { job_id: string }[];
    expect(listed.length).toBeLessThanOrEqual(3);
    const table = await cli(['jobs', 'list', '--status', 'completed'], asAcme());
    expect(table.stdout.split('\n')[0]).toMatch(/^job_id\s+status\s+submitted_at\s+rows\s+sql$/);
  });

  it('jobs results --format parquet --output writes the whole result as a typed Parquet file', async () => {
    const sub = await cli(
      ['query', 'SELECT sale_id, region FROM sales ORDER BY sale_id LIMIT 1500', '--async'],
      asAcme(),
    );
    expect(sub.code, sub.stderr).toBe(0);
    const id = sub.stdout.trim();
    expect((await cli(['jobs', 'wait', id], asAcme())).code).toBe(0);
    const noFile = await cli(['jobs', 'results', id, '--format', 'parquet'], asAcme());
    expect(noFile.code).toBe(2);
    expect(noFile.stderr.split('\n')[0]).toMatch(/--format parquet writes a file: add --output FILE/);
    const out = path.join(scratch, 'job.parquet');
    const r = await cli(['jobs', 'results', id, '--format', 'parquet', '--output', out], asAcme());
    expect(r.code, r.stderr).toBe(0);
    const t = arrow.tableFromIPC(parquet.readParquet(await readFile(out)).intoIPCStream());
    expect(t.numRows).toBe(1500);
    expect(t.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['sale_id:Int64', 'region:Utf8']);
  });

  it('Ctrl-C during jobs wait cancels the job on the server', async () => {
    const res = await spectra.query('acme', {
      sql: 'SELECT COUNT(*) FROM generate_series(1, 3000000000) AS a',
      async: true,
      timeout_seconds: 300,
    });
    const { job_id: id } = await json(res);
    const child: ChildProcess = spawn(process.execPath, [BIN, 'jobs', 'wait', id], {
      cwd: scratch,
      env: userEnv(asAcme()),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (/running…/.test(stderr)) resolve();
      });
      exited.then(() => resolve());
    });
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toContain(`job ${id} was cancelled on the server`);
    const job = await json(await spectra.request(`/v1/jobs/${id}`, { tenant: 'acme' }));
    expect(job.status).toBe('CANCELLED');
  });
});

describe('bulk', () => {
  it('export writes a valid Parquet file and reports progress in plain lines off a terminal', async () => {
    const out = path.join(scratch, 'sales.parquet');
    const r = await cli(['export', 'SELECT sale_id, region, amount FROM sales', '--output', out], asAcme());
    expect(r.code, r.stderr).toBe(0);
    const bytes = await readFile(out);
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    expect(bytes.subarray(-4).toString()).toBe('PAR1');
    expect(r.stderr).toMatch(/^downloading…$/m);
    expect(r.stderr).toMatch(/^wrote .*sales\.parquet: [\d,]+ rows, .+ \(parquet\)/m);
    expect(r.stderr).not.toContain('\r');
  });

  it('import of a CSV with one bad row writes the failed record beside the input and exits 1', async () => {
    const t = await createTenantTable('cli', 'id integer NOT NULL, name text, score numeric(6,2)', 'id');
    tables.push(t);
    const input = path.join(scratch, 'people.csv');
    await writeFile(input, 'id,name,score\n1,Ada,10.5\n2,Bob,not-a-number\n3,Cy,7\n');
    const r = await cli(['import', t.name, input, '--operation', 'insert'], asAcme());
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`insert into ${t.name}: 3 records, 2 loaded, 1 failed`);
    const failed = await readFile(path.join(scratch, 'people.failed.csv'), 'utf8');
    expect(failed.split('\n')[0]).toBe('id,name,score,error');
    expect(failed).toContain('2,Bob,not-a-number,');
    const upsert = path.join(scratch, 'fix.csv');
    await writeFile(upsert, 'id,name,score\n2,Bob,3\n');
    const ok = await cli(['import', t.name, upsert, '--operation', 'upsert', '--key', 'id'], asAcme());
    expect(ok.code, ok.stderr).toBe(0);
    expect(await t.admin(`SELECT id FROM public.${t.name} ORDER BY id`)).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 3 },
    ]);
  });
});

describe('help, usage errors and exit codes', () => {
  it('every command and subcommand answers --help with exit 0', async () => {
    const helps = [
      ['--help'],
      ['help', 'query'],
      ['serve', '--help'],
      ['worker', '--help'],
      ['login', '--help'],
      ['query', '--help'],
      ['query', 'SELECT 1', '--help'],
      ['jobs'],
      ['jobs', 'wait', '--help'],
      ['export', '--help'],
      ['import', '--help'],
      ['tables', '--help'],
      ['describe', '--help'],
      ['tenants'],
      ['tenants', 'create', '--help'],
      ['keys', 'list', '--help'],
      ['audit', '--help'],
      ['aws', 'init', '--help'],
      ['aws'],
      ['admin-key', '--help'],
    ];
    const results = await Promise.all(helps.map((args) => cli(args)));
    for (const [i, r] of results.entries()) {
      expect({ args: helps[i], code: r.code, stderr: r.stderr }).toEqual({
        args: helps[i],
        code: 0,
        stderr: '',
      });
      expect(r.stdout).toMatch(/Usage: spectra/);
    }
  });

  it('usage errors exit 2 with one line naming the problem, then the usage', async () => {
    const cases: [string[], RegExp][] = [
      [['query'], /^spectra query: missing the SQL statement$/],
      [
        ['query', 'SELECT 1', '--format', 'xml'],
        /^spectra query: --format must be one of table, csv, json, ndjson, not "xml"$/,
      ],
      [['query', 'SELECT 1', '--bogus'], /^spectra query: unknown option --bogus$/],
      [['jobs', 'get'], /^spectra jobs get: missing the job id$/],
      [['jobs', 'frob'], /^spectra jobs frob: unknown subcommand "frob"$/],
      [['tenants', 'create'], /^spectra tenants create: missing ID$/],
      [['keys', 'rotate', 'acme'], /^spectra keys rotate: missing KEY_ID$/],
      [['audit', '--limit', '-1'], /^spectra audit: --limit must be an integer ≥ 0, not "-1"$/],
      [['import', 'sales', 'x.csv'], /^spectra import: missing --operation/],
      [['export', 'SELECT 1'], /^spectra export: missing --output FILE$/],
      [['nope'], /^spectra: unknown command "nope"$/],
    ];
    const results = await Promise.all(
      cases.map(([args]) => cli(args, { ...asAcme(), SPECTRA_ADMIN_KEY: spectra.adminKey })),
    );
    for (const [i, r] of results.entries()) {
      const [args, first] = cases[i]!;
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr.split('\n')[0]).toMatch(first);
      expect(r.stderr).toContain('Usage: spectra');
    }
  });

  it('tenants list --json prints one compact line', async () => {
    const r = await cli(['tenants', 'list', '--json', '--url', spectra.url, '--admin-key', spectra.adminKey]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout).tenants.map((t: { tenant_id: string }) => t.tenant_id)).toContain('acme');
  });

  it('audit lists newest first, and --table has a header row', async () => {
    const admin = ['--url', spectra.url, '--admin-key', spectra.adminKey];
    const r = await cli(['audit', '--limit', '20', ...admin]);
    expect(r.code, r.stderr).toBe(0);
    const at = r.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { at: string }).at);
    expect(at.length).toBeGreaterThan(1);
    expect([...at].sort().reverse()).toEqual(at);
    const table = await cli(['audit', '--limit', '5', '--table', ...admin]);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^at\s+tenant\s+method\s+route\s+status\s+outcome\s+job_id\s+sql$/);
    expect(lines).toHaveLength(6);
  });
});
