import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { flushRunTallies, RunTally } from './run-tally.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

function metricsPair(collect?: () => void) {
  const registry = new Registry();
  const duration = new Histogram({ name: 'd_seconds', help: 'd', labelNames: ['task', 'outcome'], buckets: BUCKETS, registers: [registry], collect });
  const completed = new Counter({ name: 'c_total', help: 'c', labelNames: ['task'], registers: [registry], collect });
  return { registry, duration, completed };
}

/** Every sample of the registry, by name and labels. */
async function samples(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of metric.values) {
      const labels = Object.entries(v.labels).map(([k, l]) => `${k}=${String(l)}`).join(',');
      out[`${(v as { metricName?: string }).metricName ?? metric.name}{${labels}}`] = v.value;
    }
  }
  return out;
}

describe('RunTally', () => {
  it('shows at every read what observing each run at once would show', async () => {
    const tallied = metricsPair(flushRunTallies);
    const direct = metricsPair();
    const tally = new RunTally(tallied.duration, { task: 't', outcome: 'completed' }, tallied.completed, { task: 't' });
    // Across the buffer's capacity (256), with reads in between: each read sees every run recorded before it.
    for (const runs of [1, 10, 300, 600]) {
      for (let i = 0; i < runs; i++) {
        const seconds = ((i * 7919) % 2000) / 1000;
        tally.record(seconds);
        direct.duration.observe({ task: 't', outcome: 'completed' }, seconds);
        direct.completed.inc({ task: 't' });
      }
      expect(await samples(tallied.registry)).toEqual(await samples(direct.registry));
    }
    const after = await samples(tallied.registry);
    expect(after['c_total{task=t}']).toBe(911);
    expect(after['d_seconds_count{task=t,outcome=completed}']).toBe(911);
  });

  it('adds nothing when no run completed since the last read', async () => {
    const { registry, duration, completed } = metricsPair(flushRunTallies);
    const tally = new RunTally(duration, { task: 'u', outcome: 'completed' }, completed, { task: 'u' });
    tally.record(0.5);
    const first = await samples(registry);
    expect(await samples(registry)).toEqual(first);
    expect(first['c_total{task=u}']).toBe(1);
  });
});
