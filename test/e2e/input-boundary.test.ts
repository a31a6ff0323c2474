/**
 * Issue 16, defect 3: NUL characters and lone UTF-16 surrogates entering over HTTP — in JSON
 * bodies, path and query parameters — are refused with 400 INVALID_REQUEST naming the field,
 * before anything below the HTTP layer sees them (real HTTP, real PostgreSQL). The attack table
 * is built from GET /openapi.json, so a new route is covered without editing this file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../helpers/pg-fixture.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

let spectra: TestSpectra;

beforeAll(async () => {
  spectra = await startSpectra();
});
afterAll(async () => {
  await spectra?.close();
});

async function expectRefused(res: Response, field: string) {
  const text = await res.text();
  expect(res.status, text).toBe(400);
  const body = JSON.parse(text);
  expect(body.error.code).toBe('INVALID_REQUEST');
  expect(body.error.details.field).toBe(field);
  expect(body.error.request_id).toEqual(expect.any(String));
}

describe('the red-team cases of issue 16', () => {
  it('a lone surrogate in the SQL text is 400 naming sql, and no statement runs', async () => {
    const res = await spectra.request('/v1/queries', {
      tenant: 'acme',
      body: '{"sql": "SELECT 1 AS x -- \\ud800"}',
    });
    await expectRefused(res, 'sql');
  });

  it('a NUL in the SQL text is 400 naming sql', async () => {
    const res = await spectra.request('/v1/queries', {
      tenant: 'acme',
      body: { sql: 'SELECT 1 AS x -- \u0000' },
    });
    await expectRefused(res, 'sql');
  });

  it('a NUL in async params is 400 naming the param, like the sync path', async () => {
    for (const async of [true, false]) {
      const res = await spectra.query('acme', { sql: 'SELECT :x AS x', params: { x: 'a\u0000b' }, async });
      await expectRefused(res, 'params.x');
    }
  });

  it('%00 in a job id is 400 naming the path parameter, for reads and cancels', async () => {
    await expectRefused(await spectra.request('/v1/jobs/job-%00', { tenant: 'acme' }), 'path.id');
    await expectRefused(
      await spectra.request('/v1/jobs/job-%00', { tenant: 'acme', method: 'DELETE' }),
      'path.id',
    );
    await expectRefused(await spectra.request('/v1/jobs/job-%00/results', { tenant: 'acme' }), 'path.id');
  });

  it('%00 in bulk job ids and admin tenant and key ids is 400', async () => {
    const admin = spectra.adminKey;
    await expectRefused(await spectra.request('/v1/bulk/jobs/bulk-%00', { tenant: 'acme' }), 'path.id');
    await expectRefused(await spectra.request('/v1/admin/tenants/a%00', { key: admin }), 'path.id');
    await expectRefused(
      await spectra.request('/v1/admin/tenants/acme/keys/k%00', { key: admin, method: 'DELETE' }),
      'path.key_id',
    );
  });

  it('a NUL in bulk external_id_field is 400', async () => {
    const res = await spectra.request('/v1/bulk/jobs', {
      tenant: 'acme',
      body: { operation: 'upsert', object: 'sales', external_id_field: 'sale\u0000id' },
    });
    await expectRefused(res, 'external_id_field');
  });

  it('a NUL in a new tenant name is 400 and leaves no database role behind', async () => {
    const res = await spectra.request('/v1/admin/tenants', {
      key: spectra.adminKey,
      body: { tenant_id: 'nulname', name: 'bad\u0000name' },
    });
    await expectRefused(res, 'name');
    const admin = await adminClient();
    try {
      const roles = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'tenant_nulname'");
      expect(roles.rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('a malformed percent escape or invalid UTF-8 in the path is 400, not 500', async () => {
    for (const id of ['job-%ZZ', 'job-%C3%28', 'job-%ED%A0%80', 'job-%']) {
      const res = await spectra.request(`/v1/jobs/${id}`, { tenant: 'acme' });
      const text = await res.text();
      expect(res.status, `${id}: ${text}`).toBe(400);
      expect(JSON.parse(text).error.code).toBe('INVALID_REQUEST');
    }
  });

  it('a NUL in a query-string parameter is 400 naming it', async () => {
    await expectRefused(await spectra.request('/v1/jobs?cursor=a%00b', { tenant: 'acme' }), 'query.cursor');
  });
});

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is walked as plain JSON
type Json = any;

interface Attack {
  name: string;
  method: string;
  path: string;
  body?: string;
  field: string;
}

/** Path values no layer below HTTP may see: NUL, bad escapes, surrogates and overlong forms in UTF-8. */
const BAD_PATH_VALUES = [
  '%00',
  'job-%00',
  'a%00b',
  '%ZZ',
  'x%',
  'x%4',
  '%C3%28',
  '%ED%A0%80', // a UTF-16 surrogate encoded as UTF-8: not Unicode text
  '%ED%B0%80',
  '%C0%80', // overlong NUL
  '%E0%80%80', // overlong NUL, three bytes
  '%C0%AF', // overlong "/"
  '%FF',
];
/** Weird but valid: whatever the route answers, it is never a 5xx. */
const ODD_PATH_VALUES = ['%2500', '%F0%9F%98%80', '%C3%A9', '%2F', '..%2F..', '%20', '%E2%80%AE'];
const BAD_BODY_STRINGS = [
  String.raw`"a\u0000b"`,
  String.raw`"\ud800"`,
  String.raw`"x\udc00y"`,
  String.raw`"\udbff\u0000"`,
];
const BAD_QUERY_VALUES = ['a%00b', '%ZZ', '%ED%A0%80', '%C0%80'];

function resolve(doc: Json, schema: Json): Json {
  let s = schema;
  while (s?.$ref) s = doc.components.schemas[s.$ref.split('/').pop()];
  return s ?? {};
}

/** Every top-level field a JSON body schema names (through $ref, unions and intersections). */
function bodyFields(doc: Json, schema: Json): string[] {
  const s = resolve(doc, schema);
  const fields = new Set<string>(Object.keys(s.properties ?? {}));
  for (const part of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) {
    for (const f of bodyFields(doc, part)) fields.add(f);
  }
  return [...fields];
}

function credentialFor(path: string): string | undefined {
  if (path.startsWith('/v1/admin') || path === '/metrics') return spectra.adminKey;
  if (path.startsWith('/v1/downloads') || path.startsWith('/v1/bulk/uploads')) return undefined;
  return path.startsWith('/v1/') ? spectra.keys.acme : undefined;
}

function attacksFor(doc: Json): { attacks: Attack[]; odd: Attack[]; routes: string[] } {
  const attacks: Attack[] = [];
  const odd: Attack[] = [];
  const routes: string[] = [];
  for (const [template, operations] of Object.entries<Json>(doc.paths)) {
    for (const [method, op] of Object.entries<Json>(operations)) {
      const route = `${method.toUpperCase()} ${template}`;
      routes.push(route);
      const params: Json[] = op.parameters ?? [];
      const pathParams = params.filter((p) => p.in === 'path').map((p) => p.name as string);
      const fill = (values: Record<string, string>) =>
        template.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? 'x');
      for (const name of pathParams) {
        for (const v of BAD_PATH_VALUES) {
          attacks.push({
            name: `${route} path.${name}=${v}`,
            method,
            path: fill({ [name]: v }),
            field: `path.${name}`,
          });
        }
        for (const v of ODD_PATH_VALUES) {
          odd.push({ name: `${route} path.${name}=${v}`, method, path: fill({ [name]: v }), field: '' });
        }
      }
      const base = fill({});
      const queryNames = [
        ...params.filter((p) => p.in === 'query').map((p) => p.name as string),
        'undeclared',
      ];
      for (const name of queryNames) {
        for (const v of BAD_QUERY_VALUES) {
          attacks.push({
            name: `${route} ?${name}=${v}`,
            method,
            path: `${base}?${name}=${v}`,
            field: `query.${name}`,
          });
        }
      }
      const schema = op.requestBody?.content?.['application/json']?.schema;
      if (schema) {
        const fields = bodyFields(doc, schema);
        for (const field of fields.length ? fields : ['x']) {
          for (const bad of BAD_BODY_STRINGS) {
            attacks.push({
              name: `${route} body.${field}=${bad}`,
              method,
              path: base,
              body: `{"${field}": ${bad}}`,
              field,
            });
          }
          attacks.push({
            name: `${route} body.${field}.nested`,
            method,
            path: base,
            body: String.raw`{"${field}": {"k": ["ok", {"deep": "\u0000"}]}}`,
            field: `${field}.k.1.deep`,
          });
        }
        const deep = 100_000;
        odd.push({
          name: `${route} body nested ${deep} deep`,
          method,
          path: base,
          body: `{"${fields[0] ?? 'x'}": ${'['.repeat(deep)}${']'.repeat(deep)}}`,
          field: '',
        });
        attacks.push({
          name: `${route} body key`,
          method,
          path: base,
          body: String.raw`{"a\u0000b": 1}`,
          field: 'a\ufffdb',
        });
        attacks.push({
          name: `${route} body key surrogate`,
          method,
          path: base,
          body: String.raw`{"\ud800": 1}`,
          field: '\ufffd',
        });
      }
    }
  }
  return { attacks, odd, routes };
}

async function send(a: Attack): Promise<{ status: number; body: Json; text: string }> {
  const headers: Record<string, string> = {};
  const key = credentialFor(a.path.split('?')[0]!);
  if (key) headers.authorization = `Bearer ${key}`;
  if (a.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${spectra.url}${a.path}`, {
    method: a.method.toUpperCase(),
    headers,
    body: a.body,
  });
  const text = await res.text();
  let body: Json = null;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, text };
}

describe('every route of the OpenAPI document', () => {
  it('answers a bad path parameter, query parameter or JSON body string with 400 INVALID_REQUEST naming it', async () => {
    const doc = await json(await spectra.request('/openapi.json'));
    const { attacks, routes } = attacksFor(doc);
    expect(routes.length).toBeGreaterThanOrEqual(25);
    expect(attacks.length).toBeGreaterThan(500);
    const wrong: string[] = [];
    for (const a of attacks) {
      const r = await send(a);
      if (
        r.status !== 400 ||
        r.body?.error?.code !== 'INVALID_REQUEST' ||
        r.body.error.details?.field !== a.field
      ) {
        wrong.push(`${a.name}: ${r.status} ${r.text.slice(0, 200)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers odd but valid path values and deeply nested bodies without a 5xx, in the error envelope when refused', async () => {
    const doc = await json(await spectra.request('/openapi.json'));
    const wrong: string[] = [];
    for (const a of attacksFor(doc).odd) {
      const r = await send(a);
      if (r.status >= 500 || (r.status >= 400 && typeof r.body?.error?.code !== 'string')) {
        wrong.push(`${a.name}: ${r.status} ${r.text.slice(0, 200)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
