/**
 * Job ids sort by creation time (so a store's (tenant_id, job_id) index takes new records at its
 * right edge) and still carry 48 random bits.
 */
import { describe, expect, it } from 'vitest';
import { newJobId } from '../../../src/domain/query-job.js';

describe('newJobId', () => {
  it('is job- followed by 23 lower-case hex digits', () => {
    expect(newJobId()).toMatch(/^job-[0-9a-f]{23}$/);
  });

  it('sorts as text in the order of the times it was made at', () => {
    const times = [0, 1, 15, 16, 1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000, 2 ** 43];
    const ids = times.map((t) => newJobId(t));
    expect([...ids].sort()).toEqual(ids);
  });

  it('ids made in the same millisecond differ', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newJobId(1_700_000_000_000)));
    expect(ids.size).toBe(10_000);
  });
});
