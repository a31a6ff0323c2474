/**
 * Bulk imports end to end (issue 6): insert, update, upsert and delete from CSV and JSON (gzip
 * or not) into tenant tables created like the demo ones (RLS forced); failed records of each kind
 * reported with reasons while the rest loads; an unknown column fails the job before anything
 * loads; two tenants importing into one table at once; CSV edge cases and JSON (jsonb) round trips;
 * an aborted import leaves the table unchanged.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvRecordSplitter, csvFieldValues } from '../../src/formats/csv-records.js';
import { startJobWorker } from '../../src/runtime/worker.js';
import { onAwsStack } from '../helpers/aws-stack.js';
import { bulkClient } from '../helpers/bulk.js';
import { type ControlDb, createControlDb } from '../helpers/control-db.js';
import { adminClient } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { createTenantTable, type TenantTable } from '../helpers/tenant-tables.js';
import { waitFor } from '../helpers/time.js';

let spectra: TestSpectra;
let control: ControlDb;
let bulk: ReturnType<typeof bulkClient>;
const tables: TenantTable[] = [];

const PEOPLE = `id integer NOT NULL, name text, email varchar(40),
  region text CHECK (region IN ('APAC', 'EMEA', 'AMER')), score numeric(6,2), created_at timestamptz`;

beforeAll(async () => {
  control = await createControlDb('bulk_import');
  spectra = await startSpectra({
    SPECTRA_STATE_URL: control.url,
    SPECTRA_JOB_LEASE_SECONDS: '2',
    SPECTRA_WORKER_POLL_INTERVAL_MS: '200',
    SPECTRA_TENANT_MAX_RUNNING_JOBS: '20',
  });
  await startJobWorker(spectra.core);
  bulk = bulkClient(spectra);
});
afterAll(async () => {
  await spectra?.close();
  await control?.drop();
  for (const t of tables) await t.drop();
});

async function table(label: string, columns: string, key = 'id'): Promise<TenantTable> {
  const t = await createTenantTable(label, columns, key);
  tables.push(t);
  return t;
}

/** The failed-results CSV as records of values (the last one is `error`). */
function parseCsv(text: string, delimiter: ',' | '|' | '\t' = ','): (string | null)[][] {
  const s = new CsvRecordSplitter(delimiter);
  return [...s.push(Buffer.from(text)), ...s.end()].map((r) => csvFieldValues(r.bytes, delimiter));
}

describe('operations', () => {
  it('insert (CSV, gzip), update (NDJSON), upsert (JSON array), delete (pipe-delimited CSV)', async () => {
    const t = await table('ops', PEOPLE);
    const rows = () => t.admin(`SELECT id, name, region, score::text FROM public.${t.name} ORDER BY id`);
    const csv =
      'id,name,email,region,score,created_at\n1,Ada,ada@x.io,EMEA,1.5,2024-01-01T00:00:00Z\n2,Bob,,APAC,,\n3,Cy,c@x.io,AMER,3,\n';
    const ins = await bulk.run(
      'acme',
      { operation: 'insert', object: t.name, compression: 'GZIP' },
      gzipSync(csv),
    );
    expect(ins).toMatchObject({
      state: 'JobComplete',
      number_records_processed: 3,
      number_records_failed: 0,
    });
    expect(await bulk.results('acme', ins.job_id)).toMatchObject({
      operation: 'insert',
      number_records_processed: 3,
      number_records_failed: 0,
      number_records_loaded: 3,
      failed_results_url: expect.stringMatching(/failed-1\.csv/),
    });
    const upd = await bulk.run(
      'acme',
      { operation: 'update', object: t.name, external_id_field: 'id', content_type: 'JSON' },
      '{"id": 2, "name": "Bobby", "score": 2.25}\n{"id": 9, "name": "nobody"}\n',
    );
    expect(upd).toMatchObject({
      state: 'JobComplete',
      number_records_processed: 2,
      number_records_failed: 1,
    });
    expect(parseCsv(await bulk.failedResults('acme', upd.job_id))).toEqual([
      ['id', 'name', 'score', 'error'],
      ['9', 'nobody', null, 'no row with id 9'],
    ]);
    const ups = await bulk.run(
      'acme',
      { operation: 'upsert', object: t.name, external_id_field: 'id', content_type: 'JSON' },
      '[{"id": 3, "name": "Cyd", "region": "APAC"}, {"id": 4, "name": "Dee", "region": "EMEA"}]',
    );
    expect(ups).toMatchObject({ state: 'JobComplete', number_records_failed: 0 });
    const del = await bulk.run(
      'acme',
      { operation: 'delete', object: t.name, external_id_field: 'id', column_delimiter: '|' },
      'id\n1\n4\n',
    );
    expect(del).toMatchObject({
      state: 'JobComplete',
      number_records_processed: 2,
      number_records_failed: 0,
    });
    expect(await rows()).toEqual([
      { id: 2, name: 'Bobby', region: 'APAC', score: '2.25' },
      { id: 3, name: 'Cyd', region: 'APAC', score: '3.00' },
    ]);
  });

  it('fails the job before loading anything when the header names an unknown column', async () => {
    const t = await table('unknown', PEOPLE);
    const job = await bulk.run(
      'acme',
      { operation: 'upsert', object: t.name, external_id_field: 'id' },
      'id,name,phone,fax\n1,a,2,3\n',
    );
    expect(job).toMatchObject({
      state: 'Failed',
      number_records_processed: 0,
      error: {
        code: 'INVALID_REQUEST',
        message: `unknown columns "phone", "fax" in the file; public.${t.name} has "tenant_id", "id", "name", "email", "region", "score", "created_at"`,
        details: { unknown_columns: ['phone', 'fax'] },
      },
    });
    expect(await t.admin(`SELECT count(*)::int AS n FROM public.${t.name}`)).toEqual([{ n: 0 }]);
    expect((await spectra.request(`/v1/bulk/jobs/${job.job_id}/results`, { tenant: 'acme' })).status).toBe(
      409,
    );
  });
});

describe('failed records', () => {
  it('reports exactly the bad records of each kind (1% each), with reasons, and loads the rest', async () => {
    const t = await table('bad', PEOPLE);
    // Redshift enforces no CHECK constraint (docs/aws.md): that kind of bad record is PostgreSQL's.
    const enforcesCheckConstraints = !onAwsStack();
    const n = 2000;
    const expected = new Map<number, RegExp>();
    const lines = ['id,name,email,region,score,tenant_id'];
    for (let i = 1; i <= n; i++) {
      let [id, region, score, tenant] = [
        String(i),
        ['APAC', 'EMEA', 'AMER'][i % 3]!,
        String(i % 100),
        'acme',
      ];
      if (i % 100 === 7) {
        score = 'abc';
        expected.set(i, /^score: invalid input syntax for type numeric: "abc"$/);
      } else if (i % 100 === 21 && enforcesCheckConstraints) {
        region = 'MARS';
        expected.set(i, /^violates check constraint ".*_region_check"$/);
      } else if (i % 100 === 42) {
        id = String(i - 1);
        expected.set(
          i,
          new RegExp(`^id ${i - 1} appears more than once in the file \\(first in record ${i - 1}\\)$`),
        );
      } else if (i % 100 === 77) {
        tenant = 'globex';
        expected.set(i, /^tenant_id: globex is not the tenant of this credential$/);
      }
      lines.push(`${id},"Name, ${i}",p${i}@x.io,${region},${score},${tenant}`);
    }
    const job = await bulk.run(
      'acme',
      { operation: 'upsert', object: t.name, external_id_field: 'id' },
      `${lines.join('\n')}\n`,
    );
    const bad = expected.size; // 1% of each kind: 80, or 60 without CHECK constraints
    expect(bad).toBe(enforcesCheckConstraints ? 80 : 60);
    expect(job).toMatchObject({
      state: 'JobComplete',
      number_records_processed: n,
      number_records_failed: bad,
    });
    expect((await bulk.results('acme', job.job_id)).number_records_loaded).toBe(n - bad);
    const failed = parseCsv(await bulk.failedResults('acme', job.job_id));
    expect(failed[0]).toEqual(['id', 'name', 'email', 'region', 'score', 'tenant_id', 'error']);
    const records = failed.slice(1);
    expect(records).toHaveLength(bad);
    for (const r of records) {
      const i = Number(/^Name, (\d+)$/.exec(r[1]!)![1]);
      expect(r.at(-1), `record ${i}`).toMatch(expected.get(i)!);
    }
    expect(new Set(records.map((r) => Number(/(\d+)$/.exec(r[1]!)![1])))).toEqual(new Set(expected.keys()));
    const loaded = await t.admin<{ n: number; tenants: string[] }>(
      `SELECT count(*)::int AS n, array_agg(DISTINCT tenant_id) AS tenants FROM public.${t.name}`,
    );
    expect(loaded).toEqual([{ n: n - bad, tenants: ['acme'] }]);
  });

  it('rejects malformed records on their own: wrong field count, bad JSON, an object for a scalar', async () => {
    const t = await table('malformed', PEOPLE);
    const csv = await bulk.run(
      'acme',
      { operation: 'insert', object: t.name },
      'id,name\n1,a\n2,b,extra\n3\n4,"d"\n',
    );
    expect(csv).toMatchObject({ number_records_processed: 4, number_records_failed: 2 });
    expect(await bulk.failedResults('acme', csv.job_id)).toBe(
      'id,name,error\n2,b,extra,"expected 2 fields, found 3"\n3,"expected 2 fields, found 1"\n',
    );
    const js = await bulk.run(
      'acme',
      { operation: 'insert', object: t.name, content_type: 'JSON' },
      '{"id": 10, "name": "j"}\n{"id": 11, name: oops}\n{"id": 12, "name": {"first": "x"}}\n{"id": 13, "color": "red"}\n[1]\n',
    );
    expect(js).toMatchObject({ number_records_processed: 5, number_records_failed: 4 });
    const f = parseCsv(await bulk.failedResults('acme', js.job_id));
    expect(f.map((r) => r.at(-1))).toEqual([
      'error',
      expect.stringMatching(/^malformed JSON/),
      'name: expected a VARCHAR value, found a JSON object',
      'field "color" is not among the first record\'s fields (id, name)',
      'a record must be a JSON object',
    ]);
    expect(f[1]![0]).toBe('{"id": 11, name: oops}');
    expect(await t.admin(`SELECT id FROM public.${t.name} ORDER BY id`)).toEqual([
      { id: 1 },
      { id: 4 },
      { id: 10 },
    ]);
  });
});

describe('isolation', () => {
  it('two tenants importing into one table at once each see only their rows', async () => {
    const t = await table('two', PEOPLE);
    const file = (tenant: string) =>
      `id,name,region\n${Array.from({ length: 3000 }, (_, i) => `${i + 1},${tenant}-${i + 1},EMEA`).join('\n')}\n`;
    const [a, g] = await Promise.all([
      bulk.run('acme', { operation: 'upsert', object: t.name, external_id_field: 'id' }, file('acme')),
      bulk.run('globex', { operation: 'upsert', object: t.name, external_id_field: 'id' }, file('globex')),
    ]);
    expect([a.state, g.state, a.number_records_failed, g.number_records_failed]).toEqual([
      'JobComplete',
      'JobComplete',
      0,
      0,
    ]);
    for (const tenant of ['acme', 'globex']) {
      const seen = await json(
        await spectra.query(tenant, {
          sql: `SELECT count(*) AS n, count(CASE WHEN name NOT LIKE '${tenant}-%' THEN 1 END) AS foreign_names, min(tenant_id) AS lo, max(tenant_id) AS hi FROM ${t.name}`,
        }),
      );
      expect(seen.data).toEqual([{ n: 3000, foreign_names: 0, lo: tenant, hi: tenant }]);
    }
    expect(
      await t.admin(`SELECT tenant_id, count(*)::int AS n FROM public.${t.name} GROUP BY 1 ORDER BY 1`),
    ).toEqual([
      { tenant_id: 'acme', n: 3000 },
      { tenant_id: 'globex', n: 3000 },
    ]);
  });
});

describe('round trips', () => {
  const EDGES = [
    'plain',
    '',
    null,
    'comma, here',
    'pipe | here',
    'tab\there',
    'quote " here',
    '""',
    'line\nbreak',
    'crlf\r\nbreak',
    'cr\ronly',
    '  spaced  ',
    'back\\slash',
    '\\.',
    'NULL',
    'naïve café – 日本語 🎉',
  ];

  it('CSV edge cases: quotes, delimiters and newlines inside fields, unicode, empty string vs NULL', async () => {
    const src = await table('edge_src', 'id integer NOT NULL, a text, b varchar(50)');
    await src.admin(
      `INSERT INTO public.${src.name} (tenant_id, id, a, b) SELECT 'acme', i, a, b FROM unnest($1::int[], $2::text[], $3::text[]) AS u(i, a, b)`,
      [EDGES.map((_, i) => i + 1), EDGES, [...EDGES].reverse()],
    );
    for (const [delimiter, compression, lineEnding] of [
      [',', 'NONE', 'LF'],
      ['|', 'GZIP', 'CRLF'],
      ['\t', 'NONE', 'LF'],
    ] as const) {
      const exp = await bulk.run('acme', {
        operation: 'query',
        query: `SELECT id, a, b FROM ${src.name}`,
        column_delimiter: delimiter,
        compression,
        line_ending: lineEnding,
      });
      expect(exp.state).toBe('JobComplete');
      const dst = await table('edge_dst', 'id integer NOT NULL, a text, b varchar(50)');
      const file = (await bulk.download('acme', exp.job_id)).bytes;
      const imp = await bulk.run(
        'acme',
        {
          operation: 'upsert',
          object: dst.name,
          external_id_field: 'id',
          column_delimiter: delimiter,
          compression,
        },
        file,
      );
      expect(imp, `${JSON.stringify(delimiter)} ${compression}`).toMatchObject({
        state: 'JobComplete',
        number_records_processed: EDGES.length,
        number_records_failed: 0,
      });
      const diff = await src.admin(
        `SELECT s.id, s.a, d.a AS a2, s.b, d.b AS b2 FROM public.${src.name} s FULL JOIN public.${dst.name} d USING (tenant_id, id)
          WHERE s.a IS DISTINCT FROM d.a OR s.b IS DISTINCT FROM d.b OR s.id IS NULL OR d.id IS NULL`,
      );
      expect(diff, `${JSON.stringify(delimiter)} ${compression}`).toEqual([]);
      if (compression === 'NONE') {
        const text = file.toString('utf8');
        expect(text).toContain(delimiter === ',' ? '"comma, here"' : 'comma, here');
        expect(text).toContain('""');
      } else expect(gunzipSync(file).toString('utf8')).toContain('\r\n');
    }
  });

  it('JSON objects into jsonb (and arrays, bytea, exact big numbers); JSON export re-imports identically', async () => {
    const cols = 'id integer NOT NULL, doc jsonb, tags text[], raw bytea, big bigint, amount numeric(30,10)';
    const t = await table('json_src', cols);
    const records = [
      '{"id": 1, "doc": {"name": "Ada", "langs": ["en", "fr"], "meta": {"n": 1.5, "ok": true, "none": null}}, "tags": ["a", "b c", "d\\"e"], "raw": "AP8Q", "big": 9007199254740993, "amount": 12345678901234567890.0123456789}',
      '{"id": 2, "doc": [1, "two", {"three": 3}], "tags": [], "big": -1, "amount": 0.5}',
      '{"id": 3, "doc": "just a string", "tags": null}',
      '{"id": 4, "doc": 42}',
      '{"id": 5}',
    ];
    const imp = await bulk.run(
      'acme',
      { operation: 'insert', object: t.name, content_type: 'JSON' },
      `${records.join('\n')}\n`,
    );
    expect(imp).toMatchObject({
      state: 'JobComplete',
      number_records_failed: 0,
      number_records_processed: 5,
    });
    expect(
      await t.admin(
        `SELECT id, doc, tags, encode(raw, 'base64') AS raw, big::text, amount::text FROM public.${t.name} ORDER BY id`,
      ),
    ).toEqual([
      {
        id: 1,
        doc: { name: 'Ada', langs: ['en', 'fr'], meta: { n: 1.5, ok: true, none: null } },
        tags: ['a', 'b c', 'd"e'],
        raw: 'AP8Q',
        big: '9007199254740993',
        amount: '12345678901234567890.0123456789',
      },
      { id: 2, doc: [1, 'two', { three: 3 }], tags: [], raw: null, big: '-1', amount: '0.5000000000' },
      { id: 3, doc: 'just a string', tags: null, raw: null, big: null, amount: null },
      { id: 4, doc: 42, tags: null, raw: null, big: null, amount: null },
      { id: 5, doc: null, tags: null, raw: null, big: null, amount: null },
    ]);
    const exp = await bulk.run('acme', {
      operation: 'query',
      query: `SELECT id, doc, tags, raw, big, amount FROM ${t.name}`,
      content_type: 'JSON',
    });
    const copy = await table('json_dst', cols);
    const back = await bulk.run(
      'acme',
      { operation: 'upsert', object: copy.name, external_id_field: 'id', content_type: 'JSON' },
      (await bulk.download('acme', exp.job_id)).bytes,
    );
    expect(back).toMatchObject({ state: 'JobComplete', number_records_failed: 0 });
    expect(
      await t.admin(
        `SELECT count(*)::int AS n FROM public.${t.name} s FULL JOIN public.${copy.name} d USING (tenant_id, id)
          WHERE row(s.doc, s.tags, s.raw, s.big, s.amount) IS DISTINCT FROM row(d.doc, d.tags, d.raw, d.big, d.amount)`,
      ),
    ).toEqual([{ n: 0 }]);
  });
});

describe('aborting', () => {
  it('Aborted during the load cancels it: the table is unchanged and the job’s files are gone', async () => {
    const t = await table('abort', PEOPLE);
    await t.admin(`INSERT INTO public.${t.name} (tenant_id, id, name) VALUES ('acme', 1, 'before')`);
    // Holds a lock the final write needs: the import stages everything, then waits for it.
    const locker = await adminClient();
    // Watches from outside any transaction (pg_stat_activity is a snapshot inside one).
    const watcher = await adminClient();
    const backends = async (jobId: string, where: string) =>
      (
        await watcher.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE '%' || $1 AND ${where}`,
          [jobId],
        )
      ).rows[0].n as number;
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE public.${t.name} IN SHARE MODE`);
      const file = `id,name\n${Array.from({ length: 5000 }, (_, i) => `${i + 1},after`).join('\n')}\n`;
      const job = await bulk.create('acme', { operation: 'upsert', object: t.name, external_id_field: 'id' });
      await bulk.upload('acme', job.job_id, file);
      await bulk.patch('acme', job.job_id, 'UploadComplete');
      await waitFor(async () => (await backends(job.job_id, "wait_event_type = 'Lock'")) > 0, {
        what: 'the import to wait on the lock',
      });
      // Its counters arrive with the next lease renewal.
      const running = await waitFor(async () => {
        const j = await bulk.get('acme', job.job_id);
        expect(j.state).toBe('InProgress');
        return j.number_records_processed >= 5000 && j;
      });
      expect(running).toMatchObject({ state: 'InProgress', number_records_processed: 5000 });
      expect((await json(await bulk.patch('acme', job.job_id, 'Aborted'))).state).toBe('Aborted');
      await waitFor(async () => (await backends(job.job_id, "state <> 'idle'")) === 0, {
        what: 'the import statement to be cancelled',
      });
      await locker.query('ROLLBACK');
      // No statement of the job is left to commit anything; its files go with the abort.
      const folder = path.join(spectra.core.config.home, 'results', 'acme', job.job_id);
      await waitFor(async () => (await readdir(folder).catch(() => [])).length === 0);
      expect(await t.admin(`SELECT id, name FROM public.${t.name}`)).toEqual([{ id: 1, name: 'before' }]);
      expect(await bulk.get('acme', job.job_id)).toMatchObject({ state: 'Aborted' });
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
      await watcher.end();
    }
  });
});
