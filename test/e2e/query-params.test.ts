/**
 * Bind parameters a warehouse cannot take as-is (issue 14, item 2): an empty string is a value,
 * not a missing one, on every stack (the Data API refuses zero-length parameter values).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSpectra, type TestSpectra } from '../helpers/spectra.js';

let spectra: TestSpectra;
beforeAll(async () => {
  spectra = await startSpectra();
});
afterAll(async () => {
  await spectra?.close();
});

describe('empty-string parameters', () => {
  it('params {"x": ""} returns "" and compares equal to the literal', async () => {
    const res = await spectra.query('acme', {
      sql: "SELECT :x AS x, :x = '' AS is_empty, :y AS y",
      params: { x: '', y: "it's \\ ''" },
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text).data).toEqual([{ x: '', is_empty: true, y: "it's \\ ''" }]);
  });

  it('an empty string filters rows like any other value', async () => {
    const res = await spectra.query('acme', {
      sql: 'SELECT count(*) AS n FROM sales WHERE region = :r',
      params: { r: '' },
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text).data).toEqual([{ n: 0 }]);
  });
});
