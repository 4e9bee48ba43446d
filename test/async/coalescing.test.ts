import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { asynctask } from '../../src/tasks/index.js';
import { settlePending } from '../../src/tasks/caller/pending.js';
import { MAX_BATCH } from '../../src/tasks/transport/producer.js';
import { getRuntime } from '../../src/tasks/transport/runtime.js';
import { inRequest, requestStore, startHarness, type Harness } from '../helpers/harness.js';

const record = asynctask(async function coalescedRecord(n: number, id: string) {
  return { n, id };
});

describe('enqueue coalescing', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
  });

  it('acknowledges 200 concurrent request enqueues with few Redis round trips', async () => {
    h = await startHarness({ worker: false });
    const producer = getRuntime()?.producer;
    expect(producer).toBeDefined();
    const before = producer?.bulkCalls ?? 0;
    const stores = Array.from({ length: 200 }, (_, n) => requestStore({ request: { id: `req-${n}`, method: 'POST', url: '/r' } }));
    const handles = await Promise.all(stores.map((store, n) => inRequest(store, () => record(n, randomUUID()))));
    await Promise.all(stores.map((s) => settlePending(s)));
    expect(new Set(handles.map((x) => x.id)).size).toBe(200);
    expect(handles.every((x) => !x.duplicate)).toBe(true);
    expect((producer?.bulkCalls ?? 0) - before).toBe(Math.ceil(200 / MAX_BATCH));
    const counts = await h.rawQueue().getJobCounts('wait', 'prioritized', 'delayed');
    expect((counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0)).toBe(200);
  });

  it('splits large bursts into batches of at most MAX_BATCH and keeps queues apart', async () => {
    h = await startHarness({ worker: false });
    const other = asynctask({ name: 'coalescedOther', queue: 'reports' }, async (n: number) => n);
    const producer = getRuntime()?.producer;
    const before = producer?.bulkCalls ?? 0;
    await Promise.all([...Array.from({ length: 450 }, (_, n) => record(n, 'x')), other(1), other(2)]);
    expect((producer?.bulkCalls ?? 0) - before).toBe(Math.ceil(450 / MAX_BATCH) + 1);
    expect((await h.rawQueue('reports').getJobCounts('wait')).wait).toBe(2);
    expect((await h.rawQueue().getJobCounts('wait')).wait).toBe(450);
  });
});
