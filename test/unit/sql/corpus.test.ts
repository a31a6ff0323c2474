import { beforeAll, describe, expect, it } from 'vitest';
import { isApiError } from '../../../src/domain/errors.js';
import { defaultGuardPolicy, initSqlGuard, planQueryUncached } from '../../../src/sql/index.js';
import { attackCorpus, benignCorpus } from './corpus.js';
import { expectFaithfulOutput } from './output-invariants.js';

const standard = defaultGuardPolicy();
const strict = defaultGuardPolicy({ level: 'strict' });
const permissive = defaultGuardPolicy({ level: 'permissive' });

function rejection(sql: string, policy = standard, rowCap: number | undefined = 10_000) {
  try {
    planQueryUncached({ sql, rowCap }, policy);
  } catch (error) {
    if (isApiError(error)) return error;
    throw error;
  }
  return undefined;
}

beforeAll(() => initSqlGuard());

describe('attack corpus', () => {
  it('has at least 300 entries covering every class the issue names', () => {
    expect(attackCorpus.length).toBeGreaterThanOrEqual(300);
    const classes = new Set(attackCorpus.map((e) => e.class));
    for (const required of [
      'stacked statements',
      'comment tricks',
      'catalog and system tables',
      'role and setting escapes',
      'file, network and large-object access',
      'COPY PROGRAM',
      'sleeps and backend signals',
      'locking',
      'SELECT INTO',
      'data-modifying CTEs',
      'backslash literal',
      'dollar quoting',
      'U& and E strings',
      'case and whitespace',
      'UNLOAD',
      'COPY',
      'VACUUM',
    ]) {
      expect(classes).toContain(required);
    }
    expect(new Set(attackCorpus.map((e) => e.id)).size).toBe(attackCorpus.length);
  });

  it.each(attackCorpus.map((e) => [e.id, e] as const))(
    '%s is rejected with its documented code, naming the construct',
    (_id, entry) => {
      const error = rejection(entry.sql);
      expect(error, `accepted: ${entry.sql}`).toBeDefined();
      expect(error?.code).toBe(entry.expect);
      expect(typeof error?.details.construct).toBe('string');
      expect(String(error?.details.construct).length).toBeGreaterThan(0);
      expect(JSON.parse(JSON.stringify(error?.details))).toEqual(error?.details);
      const said = `${error?.message} ${JSON.stringify(error?.details)}`.toLowerCase();
      for (const name of entry.names ?? []) expect(said).toContain(name.toLowerCase());
    },
  );

  it('is rejected at every level and for exports too (no row cap)', () => {
    for (const entry of attackCorpus) {
      expect(rejection(entry.sql, strict), entry.id).toBeDefined();
      expect(rejection(entry.sql, standard, undefined)?.code, entry.id).toBe(entry.expect);
      // permissive raises the complexity limits, so only the always-blocked classes must keep their code
      if (entry.class !== 'complexity')
        expect(rejection(entry.sql, permissive)?.code, entry.id).toBe(entry.expect);
    }
  });
});

describe('benign corpus', () => {
  it('has at least 150 entries including the 22 TPC-H queries', () => {
    expect(benignCorpus.length).toBeGreaterThanOrEqual(150);
    expect(benignCorpus.filter((e) => e.class === 'TPC-H')).toHaveLength(22);
  });

  it.each(benignCorpus.map((e) => [e.id, e] as const))(
    '%s is accepted at standard and its output re-parses to the same SELECT',
    (_id, entry) => {
      const plan = planQueryUncached({ sql: entry.sql, rowCap: 10_000 }, standard);
      expectFaithfulOutput(plan, standard);
      const exported = planQueryUncached({ sql: entry.sql }, standard);
      expectFaithfulOutput(exported, standard);
      expect(exported.returnLimit).toBeNull();
    },
  );

  it('is accepted at permissive too', () => {
    for (const entry of benignCorpus) {
      expect(() => planQueryUncached({ sql: entry.sql, rowCap: 100 }, permissive), entry.id).not.toThrow();
    }
  });
});
