import { afterAll, expect, it } from 'vitest';
import { faultService, isMsg, post, secondsSince, waitUntil, type FaultService } from '../helpers/fault-service.js';

const RECORDS = 300;
const HOGS = ['hog-a', 'hog-b', 'hog-c'];
let f: FaultService | undefined;
afterAll(async () => f?.cleanup());

it('a task that allocates past async.max_memory_mb: the worker is recycled and every task is done, once', async () => {
  f = await faultService({ max_memory_mb: 400, concurrency: 5 });
  const { klue, url } = await f.start([], 1);
  const t0 = Date.now();
  expect((await post(`${url}/enqueue`, { start: 0, n: RECORDS, ms: 50 })).status).toBe(200);
  for (const id of HOGS) {
    expect((await post(`${url}/hog`, { ids: [id], mb: 450 })).status).toBe(200);
    expect((await post(`${url}/enqueue`, { start: RECORDS + HOGS.indexOf(id) * 100, n: 100, ms: 50 })).status).toBe(200);
  }
  const total = RECORDS + HOGS.length * 100 + HOGS.length;
  await waitUntil(async () => (await f!.runs()).size === total && (await f!.unfinished()) === 0, 120_000, 'every task to run');
  const runs = await f.runs();
  const lines = klue.lines.filter((l): l is Record<string, unknown> => typeof l === 'object');
  const breaches = lines.filter(isMsg('async: worker passed async.max_memory_mb'));
  const recycled = lines.filter(isMsg('async: worker recycled ('));
  const duplicates = [...runs.values()].filter((n) => n > 1).length;
  const failed = await f.bull.getFailedCount();
  console.log(
    `[faults] memory-cap: tasks=${total} completed=${runs.size} lost=${total - runs.size} duplicates=${duplicates} failed=${failed} recycled=${recycled.length} breach-rss-mb=${breaches.map((b) => String(b.rss_mb)).join('/')} max_memory_mb=400 seconds=${secondsSince(t0)}`,
  );
  expect(recycled.length).toBeGreaterThanOrEqual(1);
  expect(breaches.length).toBe(recycled.length);
  expect(runs.size).toBe(total);
  expect(duplicates).toBe(0);
  expect(failed).toBe(0);
  expect(klue.child.exitCode).toBeNull();
  // Recycling is not a failure: no backoff warning, no giving up.
  expect(lines.filter(isMsg('async: worker exited; restarting it'))).toEqual([]);
});
