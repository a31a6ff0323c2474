import { describe, expect, it } from 'vitest';
import { sqlStateOf, statementFailure } from '../../../src/warehouse/redshift-data/errors.js';

describe('a failed Data API statement keeps the SQLSTATE the PostgreSQL adapter would give', () => {
  it.each([
    ['column "nope" does not exist', '42703'],
    ['relation "public.missing" does not exist', '42P01'],
    ['permission denied for relation sales', '42501'],
    ['syntax error at or near "FORM"', '42601'],
    ['division by zero', '22012'],
    ['invalid input syntax for integer: "x"', '22P02'],
    ['canceling statement due to statement timeout', '57014'],
    ['something odd happened SQLSTATE: XX000', 'XX000'],
  ])('%s → %s', (message, state) => {
    expect(sqlStateOf(message)).toBe(state);
  });

  it('an unrecognised message has no sqlstate rather than a guessed one', () => {
    expect(sqlStateOf('the cluster is resizing')).toBeUndefined();
    const e = statementFailure('ERROR: the cluster is resizing', 'st-1');
    expect(e.details).toEqual({ statement_id: 'st-1' });
  });

  it('strips the ERROR: prefix and names the statement', () => {
    const e = statementFailure('ERROR:  column "nope" does not exist', 'st-2');
    expect(e.code).toBe('QUERY_FAILED');
    expect(e.message).toBe('column "nope" does not exist');
    expect(e.details).toEqual({ sqlstate: '42703', statement_id: 'st-2' });
  });
});
