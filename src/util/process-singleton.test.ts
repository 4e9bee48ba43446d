import { describe, expect, it } from 'vitest';
import { processSingleton } from './process-singleton.js';

describe('processSingleton', () => {
  it('makes the value once and keeps it on globalThis under Symbol.for(key)', () => {
    let made = 0;
    const make = () => ({ n: ++made });
    const first = processSingleton('klue.test.singleton', make);
    expect(processSingleton('klue.test.singleton', make)).toBe(first);
    expect(made).toBe(1);
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('klue.test.singleton')]).toBe(first);
  });

  it('finds what another copy of the module stored under the same key', () => {
    const stored = { from: 'another copy' };
    (globalThis as Record<symbol, unknown>)[Symbol.for('klue.test.other-copy')] = stored;
    expect(processSingleton('klue.test.other-copy', () => ({ from: 'this copy' }))).toBe(stored);
  });
});
