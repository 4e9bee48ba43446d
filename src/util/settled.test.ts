import { describe, expect, it } from 'vitest';
import { settled } from './settled.js';

describe('settled', () => {
  it('passes the promise fn returns on as it is', () => {
    const p = Promise.resolve(1);
    expect(settled(() => p)).toBe(p);
  });

  it('wraps a value, and turns a synchronous throw into a rejection', async () => {
    await expect(settled(() => 2)).resolves.toBe(2);
    await expect(
      settled(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(
      settled(() => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- what a careless callback may do
        throw 'text';
      }),
    ).rejects.toThrow('text');
  });
});
