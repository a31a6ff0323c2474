/**
 * The Redshift conformance corpus (issue 13): every case of every `*-cases.ts` file beside this one,
 * through `POST /v1/queries` as a demo tenant,
 * - on the embedded shape (PostgreSQL with the compatibility schema): the rows of `data`, or the
 *   refusal's error code;
 * - through the Redshift Data API adapter against the Data API stand-in: the statement text the
 *   stand-in received (only that one was sent, when `sent` is absent), or the code of a refusal
 *   made before any round trip.
 * Expected values are Redshift's documented answers (case.ts).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedshiftDataFake } from '../fakes/redshift-data-fake.js';
import { pgFacts } from '../helpers/pg-fixture.js';
import { dataApiSettings, startRedshiftDataFake } from '../helpers/redshift-data.js';
import { json, startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { type ConformanceCase, isConformanceCase, normalizeSent } from './case.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((f) => f.endsWith('-cases.ts'))
  .sort();
const cases: ConformanceCase[] = [];
for (const file of files) {
  const mod: Record<string, unknown> = await import(path.join(here, file));
  for (const value of Object.values(mod)) {
    if (Array.isArray(value) && value.every(isConformanceCase)) cases.push(...value);
  }
}

describe('the corpus', () => {
  it('has unique ids and at least one expectation per target', () => {
    const ids = cases.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(cases.length).toBeGreaterThanOrEqual(200);
  });
});

const tenantOf = (c: ConformanceCase) => c.tenant ?? 'acme';
const requestBody = (c: ConformanceCase) => ({ sql: c.sql, ...(c.params ? { params: c.params } : {}) });

describe('on the embedded warehouse', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra();
  });
  afterAll(async () => {
    await spectra?.close();
  });

  it.each(cases)('$id', async (c) => {
    const res = await spectra.query(tenantOf(c), requestBody(c));
    const body = await json(res);
    if ('rows' in c.embedded) {
      expect({ status: res.status, error: body.error }).toEqual({ status: 200, error: undefined });
      expect(body.data).toEqual(c.embedded.rows);
    } else {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(body.error?.code).toBe(c.embedded.error);
    }
  });
});

describe('through the Redshift Data API adapter', () => {
  let fake: RedshiftDataFake;
  let spectra: TestSpectra;
  beforeAll(async () => {
    fake = await startRedshiftDataFake();
    spectra = await startSpectra(dataApiSettings(fake));
  });
  afterAll(async () => {
    await spectra?.close();
    await fake?.stop();
  });

  it.each(cases)('$id', async (c) => {
    const before = fake.statementsRun().length;
    const res = await spectra.query(tenantOf(c), requestBody(c));
    const body = await json(res);
    const sent = fake.statementsRun().slice(before);
    if ('error' in c.redshift) {
      expect(body.error?.code).toBe(c.redshift.error);
      expect(sent).toEqual([]);
      return;
    }
    // Whatever the stand-in made of it (it runs PostgreSQL), the statement reached it once.
    expect(sent.map((s) => s.dbUser)).toEqual([
      pgFacts().tenants.find((t) => t.tenantId === tenantOf(c))?.dbUser,
    ]);
    if (c.redshift.sent !== undefined)
      expect(normalizeSent(sent[0]!.sql)).toBe(normalizeSent(c.redshift.sent));
  });
});
