import { describe, expect, it } from 'vitest';
import { waitAtMost } from './wait-at-most.js';

describe('waitAtMost', () => {
  it('returns when the work settles, resolved or rejected', async () => {
    const t0 = performance.now();
    await waitAtMost(Promise.resolve(), 5000);
    await waitAtMost(Promise.reject(new Error('Redis is down')), 5000);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('returns after ms when the work never settles', async () => {
    let settled = false;
    const waiting = waitAtMost(new Promise(() => undefined), 50).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    await waiting;
    expect(settled).toBe(true);
  });
});
