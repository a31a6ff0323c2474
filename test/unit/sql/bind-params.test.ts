import { beforeAll, describe, expect, it } from 'vitest';
import { bindParams, defaultGuardPolicy, initSqlGuard, planQuery } from '../../../src/sql/index.js';

beforeAll(() => initSqlGuard());

const plan = () =>
  planQuery(
    { sql: 'SELECT * FROM sales WHERE sold_at >= :since AND region = :region OR sold_at < :since' },
    defaultGuardPolicy(),
  );

describe('bindParams', () => {
  it('returns the values for $1..$n in placeholder order', () => {
    expect(bindParams(plan(), { region: 'EMEA', since: '2024-01-01' })).toEqual(['2024-01-01', 'EMEA']);
    expect(bindParams(plan(), { region: null, since: 5 })).toEqual([5, null]);
    expect(bindParams(plan(), { region: true, since: 1.5 })).toEqual([1.5, true]);
  });

  it('binds a value compared with SUPER as its JSON on PostgreSQL, as it is on Redshift', () => {
    const sql =
      'SELECT o.id FROM t AS c, c.orders AS o WHERE o.status = :status AND c.id = :id OR o.id IN (:id2)';
    const postgres = planQuery({ sql }, defaultGuardPolicy());
    expect(postgres.jsonParams).toEqual([1, 3]);
    expect(bindParams(postgres, { status: 'F', id: 'x', id2: 7 })).toEqual(['"F"', 'x', '7']);
    expect(bindParams(postgres, { status: null, id: null, id2: true })).toEqual([null, null, 'true']);
    const redshift = planQuery({ sql }, defaultGuardPolicy({ target: 'redshift' }));
    expect(redshift.jsonParams).toEqual([]);
    expect(bindParams(redshift, { status: 'F', id: 'x', id2: 7 })).toEqual(['F', 'x', 7]);
  });

  it('names a missing placeholder', () => {
    expect(() => bindParams(plan(), { since: '2024-01-01' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        details: expect.objectContaining({ param: 'region', reason: 'missing' }),
      }),
    );
  });

  it('names a parameter that has no placeholder', () => {
    expect(() => bindParams(plan(), { since: 'x', region: 'y', regoin: 'z' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        details: expect.objectContaining({ param: 'regoin', reason: 'unused' }),
      }),
    );
  });

  it('rejects values that are not scalars, naming the parameter', () => {
    for (const bad of [{}, [], Number.NaN, Number.POSITIVE_INFINITY, undefined, 10n]) {
      expect(() => bindParams(plan(), { since: 'x', region: bad as never })).toThrow(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          details: expect.objectContaining({ param: 'region' }),
        }),
      );
    }
  });

  it('does not read placeholder values from the prototype chain', () => {
    const p = planQuery({ sql: 'SELECT :constructor, :toString' }, defaultGuardPolicy());
    expect(() => bindParams(p, {})).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ param: 'constructor' }) }),
    );
  });

  it('a statement without placeholders takes no parameters', () => {
    const p = planQuery({ sql: 'SELECT 1' }, defaultGuardPolicy());
    expect(bindParams(p, {})).toEqual([]);
    expect(() => bindParams(p, { x: 1 })).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ param: 'x' }) }),
    );
  });
});
