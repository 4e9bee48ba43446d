import { describe, expect, it } from 'vitest';
import { watchMemory } from './memory-watch.js';

const MB = 1024 * 1024;

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('watchMemory', () => {
  it('reports the first reading above the cap, once, in MB', async () => {
    const readings = [100 * MB, 199 * MB, 200 * MB, 250 * MB, 300 * MB, 400 * MB];
    let reads = 0;
    const breaches: number[] = [];
    const stop = watchMemory({ maxMb: 200, intervalMs: 1, rss: () => readings[Math.min(reads++, readings.length - 1)] ?? 0, onBreach: (mb) => breaches.push(mb) });
    try {
      await until(() => breaches.length > 0, 'the breach');
      const readsAtBreach = reads;
      // It stops reading after the breach: a second breach can never be reported.
      await new Promise((r) => setTimeout(r, 20));
      expect(reads).toBe(readsAtBreach);
      expect(breaches).toEqual([250]);
    } finally {
      stop();
    }
  });

  it('reports nothing while under the cap, and nothing once stopped', async () => {
    let reads = 0;
    let rss = 10 * MB;
    const breaches: number[] = [];
    const stop = watchMemory({ maxMb: 64, intervalMs: 1, rss: () => (reads++, rss), onBreach: (mb) => breaches.push(mb) });
    await until(() => reads >= 5, 'a few reads');
    expect(breaches).toEqual([]);
    stop();
    const readsAtStop = reads;
    rss = 100 * MB;
    await new Promise((r) => setTimeout(r, 20));
    expect(reads).toBe(readsAtStop);
    expect(breaches).toEqual([]);
  });

  it('reads the real RSS by default', async () => {
    const breaches: number[] = [];
    // Any running Node process is above 1 MB.
    const stop = watchMemory({ maxMb: 1, intervalMs: 1, onBreach: (mb) => breaches.push(mb) });
    try {
      await until(() => breaches.length === 1, 'the breach');
      expect(breaches[0]).toBeGreaterThan(1);
    } finally {
      stop();
    }
  });
});
