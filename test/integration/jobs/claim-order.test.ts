/** The fair claim order (pure): fewest RUNNING first, then the oldest waiting job; caps respected. */
import { describe, expect, it } from 'vitest';
import type { QueueHead } from '../../../src/state/port.js';
import { claimOrder } from '../../../src/worker/claim-order.js';

const head = (tenantId: string, running: number, times: number[]): QueueHead => ({
  tenantId,
  running,
  jobs: times.map((t, i) => ({ jobId: `${tenantId}-${i}`, submittedAt: new Date(t).toISOString() })),
});

describe('claimOrder', () => {
  it('gives the next slot to the tenant with fewer running jobs, even when another has older jobs', () => {
    const heads = [head('big', 2, [1, 2, 3, 4, 5]), head('small', 0, [100])];
    expect(claimOrder(heads, 1, () => 5)).toEqual([{ tenantId: 'small', jobId: 'small-0' }]);
  });

  it('interleaves tenants as slots fill, oldest first among equals', () => {
    const heads = [head('a', 0, [10, 11, 12]), head('b', 0, [5, 6]), head('c', 1, [1])];
    expect(claimOrder(heads, 5, () => 5).map((c) => c.jobId)).toEqual(['b-0', 'a-0', 'c-0', 'b-1', 'a-1']);
  });

  it('never exceeds a tenant’s cap, and leaves slots empty rather than breaking it', () => {
    const heads = [head('capped', 1, [1, 2, 3]), head('other', 0, [9])];
    const order = claimOrder(heads, 4, (t) => (t === 'capped' ? 2 : 5));
    expect(order.map((c) => c.jobId)).toEqual(['other-0', 'capped-0']);
  });

  it('with 1,000 queued jobs of one tenant and one of another, the single job is picked first', () => {
    const many = head(
      'many',
      3,
      Array.from({ length: 1000 }, (_, i) => i),
    );
    const one = head('one', 0, [5000]);
    expect(claimOrder([many, one], 1, () => 5)[0]?.tenantId).toBe('one');
  });
});
