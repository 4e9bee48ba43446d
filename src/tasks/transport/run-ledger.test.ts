import { afterEach, describe, expect, it, vi } from 'vitest';
import { FINISHED, MemoryRunLedger } from './run-ledger.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryRunLedger', () => {
  it('counts runs and refuses a finished envelope', async () => {
    const ledger = new MemoryRunLedger();
    const exp = Date.now() + 60_000;
    expect(await ledger.claim('q', 'a', exp)).toBe(1);
    expect(await ledger.claim('q', 'a', exp)).toBe(2);
    await ledger.release('q', 'a', exp);
    expect(await ledger.claim('q', 'a', exp)).toBe(2);
    await ledger.finish('q', 'a', exp);
    expect(await ledger.claim('q', 'a', exp)).toBe(FINISHED);
    await ledger.grant('q', 'a');
    expect(await ledger.claim('q', 'a', exp)).toBe(1);
  });

  it('drops the records of expired envelopes once it holds many, and keeps the live ones', async () => {
    vi.useFakeTimers({ now: 1_000_000_000_000 });
    const ledger = new MemoryRunLedger();
    const soon = Date.now() + 1000;
    const later = Date.now() + 10 * 86_400_000;
    await ledger.finish('q', 'live', later);
    for (let i = 0; i < 9_999; i++) await ledger.finish('q', `old-${i}`, soon);
    vi.setSystemTime(Date.now() + 86_400_000);
    await ledger.claim('q', 'new', later);
    // The expired envelope's record is gone (its envelope is refused by its expiry instead).
    expect(await ledger.claim('q', 'old-1', soon)).toBe(1);
    expect(await ledger.claim('q', 'live', later)).toBe(FINISHED);
  });
});
