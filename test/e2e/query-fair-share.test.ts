/**
 * Issue 15, work-conserving fair scheduling of sync queries over HTTP: a tenant alone may hold every
 * warehouse slot, and under contention freed slots go to the tenants below their share first.
 * Statements are held on a table lock taken by the test (not on timing), so slot counts are exact.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../helpers/pg-fixture.js';
import { startSpectra, type TestSpectra } from '../helpers/spectra.js';
import { waitFor } from '../helpers/time.js';

const TENANT_ROLES = 'tenant_acme, tenant_globex, tenant_initech';

let admin: pg.Client;
beforeAll(async () => {
  admin = await adminClient();
  for (const gate of ['fair_gate_a', 'fair_gate_b']) {
    await admin.query(
      `DROP TABLE IF EXISTS ${gate}; CREATE TABLE ${gate} (x int); INSERT INTO ${gate} VALUES (1)`,
    );
    await admin.query(`GRANT SELECT ON ${gate} TO ${TENANT_ROLES}`);
  }
});
afterAll(async () => {
  await admin?.query('DROP TABLE IF EXISTS fair_gate_a, fair_gate_b');
  await admin?.end();
});

/** Holds an ACCESS EXCLUSIVE lock on `table` until the returned function commits it. */
async function lockTable(table: string): Promise<() => Promise<void>> {
  const c = await adminClient();
  await c.query(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  let open = true;
  return async () => {
    if (!open) return;
    open = false;
    await c.query('COMMIT');
    await c.end();
  };
}

describe('one tenant on an idle server (defaults)', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra({ SPECTRA_RATE_LIMIT_PER_MINUTE: '0' });
  });
  afterAll(async () => {
    await spectra?.close();
  });

  it('runs 20 concurrent queries of one tenant at once, with no 429', async () => {
    const unlock = await lockTable('fair_gate_a');
    let responses: Promise<Response>[] = [];
    try {
      responses = Array.from({ length: 20 }, () =>
        spectra.query('acme', { sql: 'SELECT x FROM fair_gate_a' }),
      );
      // All 20 hold a slot together: the pool's size, not a per-tenant cap, is the limit.
      await waitFor(() => spectra.core.observability.admission.tenantStats('acme').running === 20, {
        what: '20 acme queries running at once',
      });
    } finally {
      await unlock();
    }
    const statuses = await Promise.all(responses.map(async (r) => (await r).status));
    expect(statuses).toEqual(Array(20).fill(200));
  });
});

describe('three tenants contending for a small pool', () => {
  let spectra: TestSpectra;
  beforeAll(async () => {
    spectra = await startSpectra({ SPECTRA_RATE_LIMIT_PER_MINUTE: '0', SPECTRA_WAREHOUSE_POOL_SIZE: '3' });
  });
  afterAll(async () => {
    await spectra?.close();
  });

  it('gives freed slots to the tenants below their share before the one that queued first', async () => {
    const admission = spectra.core.observability.admission;
    const unlockA = await lockTable('fair_gate_a');
    const unlockB = await lockTable('fair_gate_b');
    const all: Promise<Response>[] = [];
    try {
      const send = (tenant: string, table: string) =>
        all.push(spectra.query(tenant, { sql: `SELECT x FROM ${table}` }));
      for (let i = 0; i < 3; i++) send('acme', 'fair_gate_a');
      await waitFor(() => admission.tenantStats('acme').running === 3, { what: 'acme holding every slot' });
      for (let i = 0; i < 3; i++) send('acme', 'fair_gate_b');
      await waitFor(() => admission.tenantStats('acme').queued === 3, { what: 'acme queueing first' });
      for (const t of ['globex', 'globex', 'initech', 'initech']) send(t, 'fair_gate_b');
      await waitFor(() => admission.stats.queued === 7, { what: 'the others queued behind acme' });

      await unlockA();
      await waitFor(() => admission.stats.running === 3 && admission.stats.queued === 4, {
        what: 'the freed slots granted',
      });
      expect(['acme', 'globex', 'initech'].map((t) => admission.tenantStats(t).running)).toEqual([1, 1, 1]);
    } finally {
      await unlockA();
      await unlockB();
    }
    const statuses = await Promise.all(all.map(async (r) => (await r).status));
    expect(statuses).toEqual(Array(10).fill(200));
  });
});
