import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { waitAtMost } from './wait-at-most.js';

/** Whether `p` has settled once pending callbacks ran, with the clock moved by `ms` only. */
async function settledAfter(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  await vi.advanceTimersByTimeAsync(ms);
  return settled;
}

describe('waitAtMost', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('returns when the work settles, resolved or rejected, without waiting for the timer', async () => {
    expect(await settledAfter(waitAtMost(Promise.resolve(), 5000), 0)).toBe(true);
    expect(await settledAfter(waitAtMost(Promise.reject(new Error('Redis is down')), 5000), 0)).toBe(true);
  });

  it('returns after ms when the work never settles', async () => {
    const waiting = waitAtMost(new Promise(() => undefined), 50);
    expect(await settledAfter(waiting, 49)).toBe(false);
    expect(await settledAfter(waiting, 1)).toBe(true);
  });
});
