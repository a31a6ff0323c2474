/**
 * The result memory budget's queue: oldest first, and no hold-and-wait deadlock — statements that
 * each hold part of the budget and wait for more used to time out together (all 503) on a busy
 * machine; the oldest now gets the memory and the younger holders are refused at once.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/domain/errors.js';
import { ResultMemoryBudget } from '../../../src/services/result-memory-budget.js';

/** A wait long enough that only the rule under test, never the timer, decides the outcome. */
const NEVER_MS = 600_000;

describe('ResultMemoryBudget', () => {
  it('grants at once while there is room, and queues the rest oldest first', async () => {
    const budget = new ResultMemoryBudget({ capacityBytes: 100, maxWaitMs: NEVER_MS });
    const a = budget.open();
    const b = budget.open();
    expect(a.reserve(60)).toBe(true);
    const order: string[] = [];
    const waitB = Promise.resolve(b.reserve(60)).then(() => order.push('b'));
    expect(budget.stats).toMatchObject({ usedBytes: 60, waiting: 1 });
    a.close();
    await waitB;
    expect(order).toEqual(['b']);
    expect(budget.stats).toMatchObject({ usedBytes: 60, waiting: 0 });
    b.close();
    expect(budget.stats.usedBytes).toBe(0);
  });

  it('two statements each holding half and wanting more: the younger is refused at once, the older proceeds', async () => {
    const budget = new ResultMemoryBudget({ capacityBytes: 100, maxWaitMs: NEVER_MS });
    const older = budget.open();
    const younger = budget.open();
    expect(older.reserve(50)).toBe(true);
    expect(younger.reserve(50)).toBe(true);
    const olderMore = Promise.resolve(older.reserve(30));
    const youngerMore = Promise.resolve(younger.reserve(30));
    const refusal = await youngerMore.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(ApiError);
    expect((refusal as ApiError).code).toBe('WAREHOUSE_UNAVAILABLE');
    younger.close(); // the refused statement ends and gives its bytes back
    await olderMore;
    expect(budget.stats).toMatchObject({ usedBytes: 80, waiting: 0 });
  });

  it('an older statement arriving later wounds a younger waiting holder', async () => {
    const budget = new ResultMemoryBudget({ capacityBytes: 100, maxWaitMs: NEVER_MS });
    const older = budget.open();
    const younger = budget.open();
    const other = budget.open();
    expect(younger.reserve(60)).toBe(true);
    expect(other.reserve(40)).toBe(true);
    const youngerMore = Promise.resolve(younger.reserve(30)).then(
      () => 'granted',
      () => 'refused',
    );
    expect(budget.stats.waiting).toBe(1);
    const olderFirst = Promise.resolve(older.reserve(40));
    expect(await youngerMore).toBe('refused');
    younger.close();
    await olderFirst;
    expect(budget.stats).toMatchObject({ usedBytes: 80, waiting: 0 });
  });

  it('a waiter that holds nothing is never wounded: it only queues', async () => {
    const budget = new ResultMemoryBudget({ capacityBytes: 100, maxWaitMs: NEVER_MS });
    const holder = budget.open();
    const first = budget.open();
    const second = budget.open();
    expect(holder.reserve(100)).toBe(true);
    const a = Promise.resolve(first.reserve(60)).then(() => 'first');
    const b = Promise.resolve(second.reserve(40)).then(() => 'second');
    expect(budget.stats.waiting).toBe(2);
    holder.close();
    expect(await Promise.all([a, b])).toEqual(['first', 'second']);
  });
});
