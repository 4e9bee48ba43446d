import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { releaseStartupMemory } from './startup-memory.js';

const MB = 1024 * 1024;
const hasQueryObjects = typeof (v8 as Partial<typeof v8>).queryObjects === 'function';

function youngGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/** Allocates the way loading a service does: fast, with some of it surviving a while. */
function churn(): void {
  let keep: object[] = [];
  for (let i = 0; i < 3e6; i++) {
    keep.push({ i, s: String(i) });
    if (keep.length > 2e5) keep = [];
  }
}

describe('releaseStartupMemory', () => {
  // First: Node warns about an experimental feature only the first time it is used.
  it('prints no experimental-feature warning, and leaves process.emitWarning as it was', async () => {
    const emitWarning = process.emitWarning;
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      releaseStartupMemory();
      // Warnings are delivered on a later tick.
      await new Promise((r) => setTimeout(r, 10));
      expect(warnings.map((w) => w.message).filter((m) => m.includes('queryObjects'))).toEqual([]);
      expect(process.emitWarning).toBe(emitWarning);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('does nothing, and says so, on a Node without v8.queryObjects (20.11-20.12)', () => {
    const query = (v8 as Partial<typeof v8>).queryObjects;
    const holder = v8 as { queryObjects?: unknown };
    holder.queryObjects = undefined;
    try {
      expect(releaseStartupMemory()).toBeUndefined();
    } finally {
      holder.queryObjects = query;
    }
  });

  it('shrinks the young generation that start-up grew', () => {
    // Node 20.11-20.12: covered by the test above.
    if (!hasQueryObjects) return;
    churn();
    const grown = youngGenerationBytes();
    expect(grown).toBeGreaterThanOrEqual(8 * MB);
    expect(releaseStartupMemory()).toBeGreaterThanOrEqual(0);
    expect(youngGenerationBytes()).toBeLessThan(grown / 2);
  });
});
