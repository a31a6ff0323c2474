/**
 * The OpenAPI document as client generators read it (issue 18): a unique `operationId` on every
 * operation, tags in the order Queries, Jobs, Bulk, Catalog, Admin, System, an example on every
 * JSON request body, and every error response pointing at the one Error schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';

let spectra: TestSpectra;
// biome-ignore lint/suspicious/noExplicitAny: the document is inspected as JSON
let doc: any;
// biome-ignore lint/suspicious/noExplicitAny: operation objects of the document
const operations: { method: string; path: string; op: any }[] = [];

beforeAll(async () => {
  spectra = await startSpectra();
  doc = await json(await spectra.request('/openapi.json'));
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const [method, op] of Object.entries(item)) operations.push({ method, path, op });
  }
});
afterAll(async () => {
  await spectra?.close();
});

describe('/openapi.json for generators', () => {
  it('every operation has a unique operationId', () => {
    expect(operations.length).toBeGreaterThan(20);
    const ids = operations.map((o) => o.op.operationId);
    for (const o of operations) expect(o.op.operationId, `${o.method} ${o.path}`).toMatch(/^[a-z][A-Za-z]+$/);
    expect(new Set(ids).size).toBe(ids.length);
    const id = (method: string, path: string) => doc.paths[path][method].operationId;
    expect(id('post', '/v1/queries')).toBe('runQuery');
    expect(id('get', '/v1/jobs')).toBe('listJobs');
    expect(id('get', '/v1/jobs/{id}')).toBe('getJob');
    expect(id('get', '/v1/jobs/{id}/results')).toBe('getJobResults');
    expect(id('delete', '/v1/jobs/{id}')).toBe('cancelJob');
    expect(id('post', '/v1/bulk/jobs')).toBe('createBulkJob');
    expect(id('get', '/v1/catalog/tables')).toBe('listCatalogTables');
    expect(id('get', '/v1/me')).toBe('getMe');
  });

  it('declares the tags Queries, Jobs, Bulk, Catalog, Admin, System in that order, and uses no other', () => {
    const order = ['Queries', 'Jobs', 'Bulk', 'Catalog', 'Admin', 'System'];
    expect(doc.tags.map((t: { name: string }) => t.name)).toEqual(order);
    for (const o of operations) {
      expect(o.op.tags, `${o.method} ${o.path}`).toHaveLength(1);
      expect(order).toContain(o.op.tags[0]);
    }
  });

  it('every JSON request body carries an example that names only fields of its schema', () => {
    const bodies = operations.filter((o) => o.op.requestBody?.content?.['application/json']);
    expect(bodies.length).toBeGreaterThanOrEqual(6);
    for (const o of bodies) {
      const media = o.op.requestBody.content['application/json'];
      expect(media.example, `${o.method} ${o.path}`).toBeDefined();
      const ref = media.schema.$ref as string | undefined;
      const schema = ref ? doc.components.schemas[ref.split('/').pop()!] : media.schema;
      for (const field of Object.keys(media.example)) expect(Object.keys(schema.properties)).toContain(field);
    }
  });

  it('every error response references the one Error schema', () => {
    let errors = 0;
    for (const o of operations) {
      for (const [status, response] of Object.entries(
        o.op.responses as Record<string, { content?: object }>,
      )) {
        if (Number(status) < 400 || o.path === '/ready') continue;
        errors++;
        expect(response.content, `${o.method} ${o.path} ${status}`).toEqual({
          'application/json': { schema: { $ref: '#/components/schemas/Error' } },
        });
      }
    }
    expect(errors).toBeGreaterThan(50);
  });
});
